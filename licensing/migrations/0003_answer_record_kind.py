from django.db import migrations, models


def backfill_kinds(apps, schema_editor):
    """Searches were metered under the `search` usage type, content fetches as content-<id>."""
    AnswerRecord = apps.get_model("licensing", "AnswerRecord")
    AnswerRecord.objects.filter(usage_type="search").update(kind="search")
    AnswerRecord.objects.filter(request_id__startswith="content-").update(kind="content")


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0002_usage_event_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="answerrecord",
            name="kind",
            field=models.CharField(
                choices=[("answer", "Answer"), ("search", "Search"), ("content", "Content fetch")],
                default="answer",
                max_length=10,
            ),
        ),
        migrations.RunPython(backfill_kinds, migrations.RunPython.noop),
    ]
