"""The admin site, organised for operators: a title, and a link to the dashboard on its index page.

Model admins whose pages or actions need ops (staff actions, usage figures, the connection test) are registered
here, in ops, which sits above the apps it reads: jobs, runtimes, and the organisations and cloud accounts of
tenancy. The other model admins live in their own app's admin.py. Admin URLs do not depend on where a model admin
is registered (``admin:jobs_job_changelist``...)."""

from django.contrib import admin

from ops.admin import jobs, runtimes, tenancy

__all__ = ["jobs", "runtimes", "tenancy"]

admin.site.site_header = "PyRun operator console"
admin.site.site_title = "PyRun operators"
admin.site.index_title = "Operate the platform"
admin.site.index_template = "ops/admin_index.html"
