"""Fewer index writes per delivery row (issue 13, fan-out).

- The event foreign key loses its own index: the unique (event, subscriber) and the (event,
  status) indexes both lead with it, so lookups and the cascade from an event still use one.
- On PostgreSQL the table leaves half of each page free (fillfactor 50): a claim and a lease
  renewal change only columns no index holds (leased_until, lease_owner, attempts), and with
  room on the row's page PostgreSQL makes them HOT updates, which write no index entry. A
  batch claims every row of a page at once, so the page needs room for a second version of
  each (at 75, 674 of 2,000 claims were HOT; at 50, nearly all). New rows take twice the
  pages; existing rows keep theirs.
"""

from django.db import migrations, models
import django.db.models.deletion


def set_fillfactor(apps, schema_editor, value: int = 50) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("notifications", "Delivery")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {value})")


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, 100)


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0008_staff_reminders_settings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="notifications.notificationevent",
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
