from __future__ import annotations

from tests.factories import ComponentFactory, ComponentGroupFactory


def test_subscribe_page_lists_components_in_page_order_grouped(client, org):
    regions = ComponentGroupFactory(organization=org, name="Regions", position=2)
    core = ComponentGroupFactory(organization=org, name="Core", position=1)
    ComponentFactory(organization=org, name="Dublin", group=regions, position=1)
    ComponentFactory(organization=org, name="API", group=core, position=1)
    ComponentFactory(organization=org, name="Website", position=1)

    page = client.get("/s/acme/subscribe/").content.decode()

    order = [page.index(name) for name in ("Website", "Core", "API", "Regions", "Dublin")]
    assert order == sorted(order)
    assert "All components" in page  # the picker starts folded: everything by default


def test_subscribe_pages_wear_the_organizations_accent(client, org):
    org.accent_color = "#7c3aed"
    org.save(update_fields=["accent_color"])

    page = client.get("/s/acme/subscribe/").content.decode()

    assert "--accent: #7c3aed" in page
