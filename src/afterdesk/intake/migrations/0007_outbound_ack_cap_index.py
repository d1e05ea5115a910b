"""The acknowledgement cap's index: by lower(to_email), which its query compares, instead of
to_email, which a case-insensitive LIKE cannot use (every sent message was read for each
acknowledgement sent)."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_drop_case_created_by_index"),
        ("intake", "0006_drop_redundant_outbound_case_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="outboundmessage",
            name="outbound_to_kind",
        ),
        migrations.AddIndex(
            model_name="outboundmessage",
            index=models.Index(
                django.db.models.functions.text.Lower("to_email"),
                models.F("kind"),
                models.F("sent_at"),
                name="outbound_ack_cap",
            ),
        ),
    ]
