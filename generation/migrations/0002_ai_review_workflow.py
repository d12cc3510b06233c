"""The "AI review" workflow for Editors, default prompt templates, the resume sweep."""

from django.db import migrations

from generation.prompts import DEFAULT_TEMPLATES

WORKFLOW_NAME = "AI review"
TASK_NAME = "Editors approve AI draft"
GROUP_NAME = "Editors"
SCHEDULE_NAME = "generation: resume stalled jobs"


def editors_group(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    Page = apps.get_model("wagtailcore", "Page")
    group, created = Group.objects.get_or_create(name=GROUP_NAME)
    if created:
        # Wagtail's own migration normally made this group; rebuild its usual rights.
        admin_access = Permission.objects.filter(
            content_type__app_label="wagtailadmin", codename="access_admin"
        ).first()
        if admin_access is not None:
            group.permissions.add(admin_access)
        root = Page.objects.filter(depth=1).first()
        for codename in ("add_page", "change_page"):
            permission = Permission.objects.filter(
                content_type__app_label="wagtailcore", codename=codename
            ).first()
            if root is not None and permission is not None:
                GroupPagePermission.objects.get_or_create(
                    group=group, page=root, permission=permission
                )
    return group


def create_workflow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    group = editors_group(apps)
    workflow, _ = Workflow.objects.get_or_create(
        name=WORKFLOW_NAME, defaults={"active": True}
    )
    if not WorkflowTask.objects.filter(workflow=workflow).exists():
        content_type, _ = ContentType.objects.get_or_create(
            app_label="wagtailcore", model="groupapprovaltask"
        )
        task = GroupApprovalTask.objects.create(
            name=TASK_NAME, content_type=content_type, active=True
        )
        task.groups.add(group)
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)


def create_prompt_templates(apps, schema_editor):
    PromptTemplate = apps.get_model("generation", "PromptTemplate")
    for template in DEFAULT_TEMPLATES:
        PromptTemplate.objects.get_or_create(
            kind=template["kind"],
            defaults={key: value for key, value in template.items() if key != "kind"},
        )


def create_resume_schedule(apps, schema_editor):
    # One schedule row, found by name: two clusters never run two sweeps.
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "generation.tasks.generation_jobs_resume",
            "schedule_type": "I",
            "minutes": 10,
            "repeats": -1,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_workflow, migrations.RunPython.noop),
        migrations.RunPython(create_prompt_templates, migrations.RunPython.noop),
        migrations.RunPython(create_resume_schedule, migrations.RunPython.noop),
    ]
