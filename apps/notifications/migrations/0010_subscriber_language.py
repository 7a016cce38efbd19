"""The language each subscriber's mail is written in (issue #15). Existing rows get English,
what their mail has always been."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0009_delivery_fewer_index_writes'),
    ]

    operations = [
        migrations.AddField(
            model_name='subscriber',
            name='language',
            field=models.CharField(db_default='en', default='en', max_length=8),
        ),
    ]
