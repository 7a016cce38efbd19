from __future__ import annotations

import pytest

from apps.organizations.principals import Customer, Member
from tests.factories import IncidentFactory, UserFactory


@pytest.fixture
def incident(org):
    return IncidentFactory(organization=org, name="API errors in eu-west")


@pytest.fixture
def customer(db):
    return UserFactory(email="casey@customer.test", display_name="Casey Jones")


@pytest.fixture
def as_customer(customer, org):
    return Customer(customer, org)


@pytest.fixture
def as_editor(editor, org):
    return Member.of(editor, org)


@pytest.fixture
def as_viewer(viewer, org):
    return Member.of(viewer, org)
