"""The Dashboard model: no table (managed=False), only its permission."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    operations = [
        migrations.CreateModel(
            name="Dashboard",
            fields=[
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "dashboard",
                "verbose_name_plural": "dashboard",
                "permissions": [
                    ("manage_jobs", "Can requeue, cancel and delete minirq jobs, pause queues")
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
