"""The admin site, organised for operators: a title, and a link to the dashboard on its index page. The model
admins live in each app's admin.py."""

from django.contrib import admin

admin.site.site_header = "PyRun operator console"
admin.site.site_title = "PyRun operators"
admin.site.index_title = "Operate the platform"
admin.site.index_template = "ops/admin_index.html"
