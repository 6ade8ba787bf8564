"""The IDE beyond its main path (tests/e2e/test_ide.py), in Debian's Chromium against the real server and, where a
job or a build runs, a real Celery worker: settings (tokens, members, org switcher, cloud account), the file tree
(upload, zip, rename, drag to move, delete, download, keyboard), a save conflict, 100k lines of output, the runtime
rebuild, the terminal, the metrics of a Lithops run, the Lithops config form, the pipelines gallery and the theme.

Every test collects the page's uncaught errors and console errors and fails on any it does not expect. One
screenshot per feature goes to tmp/artifacts/e2e/<test>/ (PYRUN_E2E_ARTIFACTS to change it).
"""

from __future__ import annotations

import json
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from pyrun_web.tenancy.models import Membership, Role
from pyrun_web.tenancy.services import create_organization, create_tenant, get_or_create_user
from tests.conftest import uvicorn_server, worker_env
from workspaces.services import create_workspace

pytestmark = [pytest.mark.e2e]

EMAIL = "panels@example.com"
PASSWORD = "e2e panels horse battery"


def in_thread(fn, *args, **kwargs):
    """Run a database call from the test while the browser is open: Playwright's sync API runs an event loop in
    this thread, and Django refuses database calls there."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


SHARED_FIXTURES = ("_module_server", "live_server_url", "tenant", "workspace", "page_errors", "page", "shot")


def share_fixtures(namespace: dict) -> None:
    """Give another e2e module this module's fixtures rather than copies: one live server per module, the owner and
    their token, a workspace from the python template, the logged-in page that fails on any console error, and
    screenshots. Pytest finds fixtures by name in a module's namespace, so the call goes at that module's top."""
    for name in SHARED_FIXTURES:
        namespace[name] = globals()[name]


@pytest.fixture(scope="module")
def _module_server(django_db_setup, django_db_blocker, redis_server):
    """One uvicorn for the module (tests/conftest.py starts one per test): each test's data is committed and
    flushed after it, the server just reads the database."""
    with django_db_blocker.unblock():
        env = worker_env()
    with uvicorn_server(env) as url:
        yield url


@pytest.fixture
def live_server_url(_module_server, transactional_db):
    return _module_server


@pytest.fixture
def tenant(transactional_db):
    """The org owner (made like `manage.py createtenant` does) and their API token, before the browser starts."""
    org, user, key = create_tenant("Panels Lab", EMAIL, PASSWORD)
    return org, user, key


@pytest.fixture
def page_errors():
    """Uncaught errors and console errors of the page; asserted empty when the test ends."""
    return []


@pytest.fixture
def page(ide_page, artifacts, page_errors):
    """The IDE page: collects errors, and saves its last state as last.png whatever happens."""

    def on_console(message):
        if message.type != "error":
            return
        text = message.text
        # A failed HTTP response is logged by Chromium as a console error even when the app handles it: the
        # tests provoke some on purpose (412 on a conflicting save). Others are real problems, kept below.
        if "Failed to load resource" in text and "412" in text:
            return
        # The server-rendered login page (pyrun_web/templates/pyrun_web/base.html) names no icon, so Chromium asks
        # for /favicon.ico and logs its 404; the IDE's own page has an inline icon.
        if "Failed to load resource" in text and message.location.get("url", "").endswith("/favicon.ico"):
            return
        page_errors.append(f"console: {text} @ {message.location.get('url')}")

    ide_page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    ide_page.on("console", on_console)
    yield ide_page
    ide_page.screenshot(path=str(artifacts / "last.png"))
    assert page_errors == [], "errors in the page:\n" + "\n".join(page_errors)


@pytest.fixture
def shot(page, artifacts):
    step = iter(range(1, 100))

    def take(name: str) -> None:
        page.screenshot(path=str(artifacts / f"{next(step):02d}-{name}.png"))

    return take


def login(page, url: str, email: str = EMAIL) -> None:
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    # The organisation's name joins the heading once the user's account is read; the page's other start-up reads
    # are awaited too, so a test that logs out next does not turn one still in flight into a 401 in the console.
    page.get_by_role("heading", name=re.compile("Workspaces · ")).wait_for()
    page.wait_for_load_state("networkidle")


def api_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{url}/api/v1/", headers={"Authorization": f"Token {key}"}, timeout=30)


# --- 1. API tokens --------------------------------------------------------------------------------------------


def test_api_token_shown_once_listed_without_key_and_revoked(tenant, live_server_url, frontend_dist, page, shot):
    # As on a server reached over plain http on its LAN address: no async Clipboard API (secure contexts only).
    page.add_init_script(
        """window.realClipboard = navigator.clipboard;
        Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined, configurable: true});"""
    )
    login(page, live_server_url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="API tokens").wait_for()

    form = page.get_by_role("form", name="New token")
    form.get_by_label("Name").fill("ci-e2e")
    form.get_by_role("button", name="Create token").click()
    key_box = page.get_by_test_id("new-token")
    key_box.wait_for()
    key = key_box.inner_text().strip()
    assert len(key) >= 20
    alert = page.get_by_role("alert").filter(has_text="shown only once")
    alert.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    page.context.grant_permissions(["clipboard-read"])
    assert page.evaluate("window.realClipboard.readText()") == key
    table = page.locator("table")
    row = table.locator("tbody tr", has_text="ci-e2e")
    row.wait_for()
    shot("token-created")

    # The key works, and the list never shows it again.
    assert httpx.get(f"{live_server_url}/api/v1/me/", headers={"Authorization": f"Token {key}"}).status_code == 200
    alert.get_by_role("button", name="Done").click()
    assert page.get_by_test_id("new-token").count() == 0
    page.reload()
    row.wait_for()
    assert key not in page.content()
    assert "active" in row.inner_text()

    # Revoke: the row says so and the key gets 401.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke ci-e2e").click()
    row.get_by_text("revoked").wait_for()
    shot("token-revoked")
    response = httpx.get(f"{live_server_url}/api/v1/me/", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 401


# --- 2. Members and the organisation switcher ------------------------------------------------------------------


def join_as(org, email: str, role) -> None:
    """A user who is already a member of ``org`` (as after accepting an invitation)."""
    user, _ = get_or_create_user(email, PASSWORD)
    Membership.objects.create(org=org, user=user, role=role)


def test_members_roles_and_org_switcher(tenant, live_server_url, frontend_dist, page, shot):
    org, user, _ = tenant
    other = in_thread(create_organization, "Second Lab", user)
    in_thread(create_workspace, org=org, user=user, name="first-org-ws", template="python")
    in_thread(create_workspace, org=other, user=user, name="second-org-ws", template="python")
    # A viewer who already joined (people join by invitation only: tests/e2e/test_invitations.py).
    in_thread(join_as, org, "viewer@example.com", Role.VIEWER)

    login(page, live_server_url)
    page.get_by_role("link", name="first-org-ws").wait_for()

    # Members: make the viewer a member, then remove them.
    page.goto(f"{live_server_url}/settings/members")
    page.get_by_role("heading", name="Members and roles").wait_for()
    page.get_by_role("form", name="Invite member").wait_for()  # "Add member" is an invitation now
    role = page.get_by_label("Role of viewer@example.com")
    role.wait_for()
    assert role.input_value() == "viewer"
    shot("members")
    role.select_option("member")
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"Role of viewer@example.com\"]')?.value === 'member'"
    )
    page.reload()
    assert page.get_by_label("Role of viewer@example.com").input_value() == "member"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="viewer@example.com").get_by_role("button", name="Remove").click()
    page.locator("tr", has_text="viewer@example.com").wait_for(state="detached")
    shot("member-removed")

    # The organisation switcher: the workspace list follows it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workspaces").click()
    page.get_by_role("link", name="first-org-ws").wait_for()
    switcher = page.get_by_label("Organisation")
    switcher.select_option(other.slug)
    page.get_by_role("heading", name=re.compile("Second Lab")).wait_for()
    page.get_by_role("link", name="second-org-ws").wait_for()
    assert page.get_by_role("link", name="first-org-ws").count() == 0
    shot("second-org")
    page.reload()  # the choice sticks
    page.get_by_role("link", name="second-org-ws").wait_for()
    switcher.select_option(org.slug)
    page.get_by_role("link", name="first-org-ws").wait_for()
    assert page.get_by_role("link", name="second-org-ws").count() == 0


# --- 3. Cloud account ------------------------------------------------------------------------------------------


def test_cloud_account_secret_never_shown_back(tenant, live_server_url, frontend_dist, page, shot):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    login(page, live_server_url)
    page.goto(f"{live_server_url}/settings/cloud")
    form = page.get_by_role("form", name="Cloud account")
    form.get_by_label("Authentication").select_option("access_keys")
    form.get_by_label("Region").fill("eu-west-1")
    form.get_by_label("S3 bucket").fill("panels-bucket")
    form.get_by_label("Access key id").fill("AKIAIOSFODNN7EXAMPLE")
    form.get_by_label("Secret access key").fill(secret)
    form.get_by_role("button", name="Add cloud account").click()
    page.get_by_text("Cloud account saved.").wait_for()
    form.get_by_role("button", name="Save changes").wait_for()
    page.get_by_text(re.compile("secret set")).wait_for()
    shot("cloud-saved")
    assert secret not in page.content()
    assert form.get_by_label("Secret access key").input_value() == ""
    page.reload()
    page.get_by_text(re.compile("secret set")).wait_for()
    assert secret not in page.content()
    assert form.get_by_label("S3 bucket").input_value() == "panels-bucket"


def test_role_account_shows_the_platform_external_id_and_the_trust_policy(tenant, live_server_url, frontend_dist,
                                                                           page, shot):  # fmt: skip
    org = tenant[0]  # its aws_external_id was set when the fixture created it
    page.add_init_script(
        """window.realClipboard = navigator.clipboard;
        Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined, configurable: true});"""
    )
    login(page, live_server_url)
    page.goto(f"{live_server_url}/settings/cloud")
    form = page.get_by_role("form", name="Cloud account")
    form.get_by_label("Authentication").select_option("role")
    # No external id to type: the platform owns it.
    assert form.locator("input#cloud-external_id").count() == 0
    form.get_by_label("Region").fill("eu-west-1")
    form.get_by_label("Role ARN").fill("arn:aws:iam::123456789012:role/pyrun")
    form.get_by_role("button", name="Add cloud account").click()
    page.get_by_text("Cloud account saved.").wait_for()
    expect(form.get_by_label("External id")).to_have_text(org.aws_external_id)
    policy = form.get_by_label("Trust policy")
    expect(policy).to_contain_text(f'"sts:ExternalId": "{org.aws_external_id}"')
    expect(policy).to_contain_text("arn:aws:iam::<platform-account-id>:root")
    shot("cloud-role-trust-policy")
    form.get_by_role("button", name="Copy trust policy").click()
    page.get_by_text("Trust policy copied to the clipboard.").wait_for()
    page.context.grant_permissions(["clipboard-read"])
    copied = json.loads(page.evaluate("window.realClipboard.readText()"))
    assert copied["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": org.aws_external_id}}


# --- Workspaces opened in the IDE ----------------------------------------------------------------------------


@pytest.fixture
def workspace(tenant):
    """A workspace from the python template (main.py, .pyrun/environment.yml), made before the browser starts."""
    org, user, _ = tenant
    return create_workspace(org=org, user=user, name="panels", template="python")


def open_ide(page, url: str, workspace_id: int, first_file: str = "main.py") -> None:
    login(page, url)
    page.goto(f"{url}/w/{workspace_id}")
    page.get_by_role("tab", name=re.compile(re.escape(first_file))).wait_for()
    page.locator(".monaco-editor .view-lines").first.wait_for()


def tree_item(page, path: str):
    return page.get_by_role("tree", name="Workspace files").locator(f'[role=treeitem][data-path="{path}"]')


def tree_paths(page) -> list[str]:
    return page.eval_on_selector_all("[role=tree] [role=treeitem]", "items => items.map(i => i.dataset.path)")


def paste(page, text: str) -> None:
    """Paste into the focused Monaco editor, as Ctrl+V would (typed text would be auto-indented line by line)."""
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.setData('text/plain', text);
            const event = new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true});
            document.activeElement.dispatchEvent(event);
        }""",
        text,
    )


def editor_text(page) -> str:
    """The text of the editor's visible lines (Monaco renders spaces as non-breaking ones)."""
    return page.locator(".monaco-editor .view-lines").first.inner_text().replace("\u00a0", " ")


# --- 4. File tree ----------------------------------------------------------------------------------------------


def test_file_tree_upload_zip_rename_drag_delete_download(
    tenant, workspace, live_server_url, frontend_dist, page, shot, tmp_path
):
    open_ide(page, live_server_url, workspace.id)

    # Upload a file and a zip (unpacked in place): their files appear in the tree.
    data = tmp_path / "data.txt"
    data.write_bytes(b"alpha,beta\n1,2\n")
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("pkg/helpers.py", "def helper():\n    return 42\n")
        archive.writestr("pkg/notes.md", "# notes\n")
    page.get_by_label("Upload files").set_input_files([str(data), str(bundle)])
    tree_item(page, "data.txt").wait_for()
    tree_item(page, "pkg").wait_for()
    assert "bundle.zip" not in tree_paths(page)
    tree_item(page, "pkg").locator(".label").first.click()  # expand the folder
    tree_item(page, "pkg/helpers.py").wait_for()
    tree_item(page, "pkg/notes.md").wait_for()
    shot("uploaded")

    # Download returns the file's bytes.
    tree_item(page, "data.txt").locator(".label").click()
    with page.expect_download() as download_info:
        page.get_by_role("toolbar", name="Files").get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "data.txt"
    assert Path(download.path()).read_bytes() == data.read_bytes()

    # Rename with F2: the dialog asks for the new path, the name part selected (typed over from the keyboard).
    tree_item(page, "data.txt").focus()
    page.keyboard.press("F2")
    ask = page.get_by_role("dialog", name="Rename data.txt")
    assert ask.get_by_role("textbox").input_value() == "data.txt"
    page.keyboard.type("table")
    page.keyboard.press("End")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.type("csv")
    shot("rename-dialog")
    page.keyboard.press("Enter")
    tree_item(page, "table.csv").wait_for()
    assert "data.txt" not in tree_paths(page)
    shot("renamed")

    # Drag it onto the folder: it moves there.
    page.drag_and_drop('[role=treeitem][data-path="table.csv"] > .label', '[role=treeitem][data-path="pkg"] > .label')
    tree_item(page, "pkg/table.csv").wait_for()
    assert "table.csv" not in tree_paths(page)
    moved = httpx.get(
        f"{live_server_url}/api/v1/workspaces/{workspace.id}/files/pkg/table.csv",
        headers={"Authorization": f"Token {tenant[2]}"},
    )
    assert moved.status_code == 200 and moved.content == data.read_bytes()
    shot("dragged")

    # Delete with the Delete key (after a confirmation).
    tree_item(page, "pkg/table.csv").focus()
    page.keyboard.press("Delete")
    page.get_by_role("dialog", name="Delete pkg/table.csv?").get_by_role("button", name="Delete").click()
    tree_item(page, "pkg/table.csv").wait_for(state="detached")
    gone = httpx.get(
        f"{live_server_url}/api/v1/workspaces/{workspace.id}/files/pkg/table.csv",
        headers={"Authorization": f"Token {tenant[2]}"},
    )
    assert gone.status_code == 404
    shot("deleted")


# --- 5. Save conflict ------------------------------------------------------------------------------------------


def test_save_conflict_load_theirs(tenant, workspace, live_server_url, frontend_dist, page, shot):
    open_ide(page, live_server_url, workspace.id)
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.type("\nprint('mine')")
    tab = page.get_by_role("tab", name=re.compile("main.py"))
    assert tab.get_attribute("data-dirty") == "true"

    # Someone else saves the file meanwhile.
    theirs = "print('theirs, saved through the API')\n"
    with api_client(live_server_url, tenant[2]) as client:
        response = client.put(f"workspaces/{workspace.id}/files/main.py", content=theirs.encode())
        assert response.status_code in (200, 201), response.text

    page.keyboard.press("ControlOrMeta+S")
    dialog = page.get_by_role("dialog", name="main.py changed on the server")
    dialog.wait_for()
    shot("conflict")
    dialog.get_by_role("button", name="Discard mine, load theirs").click()
    dialog.wait_for(state="hidden")
    page.locator(".monaco-editor .view-lines", has_text="theirs, saved through the API").wait_for()
    assert "mine" not in editor_text(page)
    page.locator('[role=tab][data-dirty="false"]', has_text="main.py").wait_for()
    shot("theirs-loaded")

    # And the editor now holds their etag: the next save goes through without a conflict. The CPU is slowed down
    # as on a busy laptop: Ctrl+S pressed right after the last key must still save every key.
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press("ControlOrMeta+End")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 20})
    page.keyboard.type("\nprint('after')")
    page.keyboard.press("ControlOrMeta+S")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    page.locator('[role=tab][data-dirty="false"]', has_text="main.py").wait_for()
    assert page.get_by_role("dialog").count() == 0
    with api_client(live_server_url, tenant[2]) as client:
        saved = client.get(f"workspaces/{workspace.id}/files/main.py").text
    assert saved == theirs + "\nprint('after')"


# --- 12. Keyboard and theme ------------------------------------------------------------------------------------


def test_keyboard_tree_tabs_and_dark_theme(tenant, workspace, live_server_url, frontend_dist, page, shot):
    open_ide(page, live_server_url, workspace.id)
    # The tree: .pyrun/ (open), .pyrun/environment.yml, main.py. Arrows move, Enter opens.
    tree_item(page, "main.py").focus()
    page.keyboard.press("Home")
    expect(tree_item(page, ".pyrun")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(tree_item(page, ".pyrun/environment.yml")).to_be_focused()
    page.keyboard.press("Enter")
    env_tab = page.get_by_role("tab", name=re.compile("environment.yml"))
    env_tab.wait_for()
    page.locator(".monaco-editor .view-lines", has_text="dependencies").wait_for()
    assert env_tab.get_attribute("aria-selected") == "true"
    # ArrowLeft on .pyrun/environment.yml goes up to its folder, which ArrowLeft then closes.
    tree_item(page, ".pyrun/environment.yml").focus()
    page.keyboard.press("ArrowLeft")
    expect(tree_item(page, ".pyrun")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    tree_item(page, ".pyrun/environment.yml").wait_for(state="detached")
    page.keyboard.press("ArrowRight")
    tree_item(page, ".pyrun/environment.yml").wait_for()
    shot("tree-keyboard")

    # Editor tabs: arrows switch.
    env_tab.focus()
    page.keyboard.press("ArrowLeft")
    main_tab = page.get_by_role("tab", name=re.compile("main.py"))
    expect(main_tab).to_be_focused()
    expect(main_tab).to_have_attribute("aria-selected", "true")
    expect(env_tab).to_have_attribute("aria-selected", "false")
    page.locator(".monaco-editor .view-lines", has_text="def greet").wait_for()
    page.keyboard.press("ArrowRight")
    expect(env_tab).to_be_focused()
    expect(env_tab).to_have_attribute("aria-selected", "true")
    page.locator(".monaco-editor .view-lines", has_text="dependencies").wait_for()

    # Panel tabs: arrows switch, and the URL follows.
    panels = page.get_by_role("tablist", name="Panels")
    panels.get_by_role("tab", name="Output").focus()
    page.keyboard.press("ArrowRight")
    expect(panels.get_by_role("tab", name="Gantt")).to_have_attribute("aria-selected", "true")
    expect(panels.get_by_role("tab", name="Gantt")).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    runs = panels.get_by_role("tab", name=re.compile("^Runs"))
    expect(runs).to_have_attribute("aria-selected", "true")
    expect(runs).to_be_focused()
    expect(page).to_have_url(re.compile("tab=runs"))
    shot("tabs-keyboard")

    # Theme toggle: data-theme and the page's background change.
    def background() -> str:
        return page.evaluate("getComputedStyle(document.body).backgroundColor")

    toggle = page.get_by_role("button", name=re.compile("Dark|Light"))
    before_theme = page.evaluate("document.documentElement.dataset.theme ?? null")
    before = background()
    toggle.click()
    after_theme = page.evaluate("document.documentElement.dataset.theme ?? null")
    assert after_theme in ("dark", "light") and after_theme != before_theme
    page.wait_for_function(f"getComputedStyle(document.body).backgroundColor !== {before!r}")
    assert background() != before
    shot(f"theme-{after_theme}")
    page.reload()  # the choice is kept
    page.locator(".monaco-editor .view-lines").first.wait_for()
    assert page.evaluate("document.documentElement.dataset.theme") == after_theme
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") != after_theme
    page.wait_for_function(f"getComputedStyle(document.body).backgroundColor === {before!r}")


# --- 8. Terminal -----------------------------------------------------------------------------------------------


def test_terminal_runs_a_shell_command(tenant, workspace, live_server_url, frontend_dist, page, shot):
    open_ide(page, live_server_url, workspace.id)
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Terminal").click()
    page.get_by_text("Terminal · connected").wait_for()
    rows = page.locator("#panel-terminal .xterm-rows")
    expect(rows).to_contain_text(re.compile(r"/workspace[#$]"))  # the prompt
    page.locator("#panel-terminal .xterm").click()
    page.keyboard.type("echo hello-$((40+2))")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("hello-42")
    # The shell runs in the workspace.
    page.keyboard.type("ls")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("main.py")
    shot("terminal")


# --- 10. Lithops config form -----------------------------------------------------------------------------------


def test_lithops_config_form_persists(tenant, workspace, live_server_url, frontend_dist, page, shot):
    open_ide(page, live_server_url, workspace.id)
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Lithops config").click()
    form = page.get_by_role("form", name="Lithops configuration")
    form.get_by_label("Workers").wait_for()
    form.get_by_label("Workers").fill("3")
    form.get_by_label("Memory per task (MB)").fill("512")
    form.get_by_label("Lithops log level").select_option("DEBUG")
    form.get_by_role("button", name="Save settings").click()
    page.get_by_text("Execution settings saved.").wait_for()
    shot("config-saved")

    page.reload()
    form.get_by_label("Workers").wait_for()
    expect(form.get_by_label("Workers")).to_have_value("3")
    expect(form.get_by_label("Memory per task (MB)")).to_have_value("512")
    expect(form.get_by_label("Lithops log level")).to_have_value("DEBUG")
    with api_client(live_server_url, tenant[2]) as client:
        config = client.get(f"workspaces/{workspace.id}/config/").json()
    assert config["workers"] == 3 and config["runtime_memory"] == 512 and config["log_level"] == "DEBUG"

    # Emptying a number field means "the backend's default".
    form.get_by_label("Workers").fill("")
    form.get_by_role("button", name="Save settings").click()
    page.get_by_text("Execution settings saved.").wait_for()
    with api_client(live_server_url, tenant[2]) as client:
        assert client.get(f"workspaces/{workspace.id}/config/").json()["workers"] is None


# --- Runs: a real worker ---------------------------------------------------------------------------------------

LINES = 'for i in range(100_000):\n    print(f"line {i}")\n'
SIX_ENV = """name: python
dependencies:
  - python=3.11
  - pip:
      - six==1.17.0
"""


def test_runs_history_loads_older_runs_page_by_page(tenant, workspace, live_server_url, frontend_dist, page, shot):
    from jobs.models import Job, JobState

    org, user, _ = tenant

    def make_runs() -> Job:
        Job.objects.bulk_create(
            Job(org=org, workspace=workspace, created_by=user, entrypoint=f"step{i}.py", backend="lithops-localhost",
                state=JobState.SUCCEEDED)
            for i in range(103)
        )  # fmt: skip
        return Job.objects.filter(workspace=workspace).order_by("created_at", "id").first()

    oldest = in_thread(make_runs)  # the browser's event loop runs in this thread: the ORM goes to another
    open_ide(page, live_server_url, workspace.pk)
    runs_tab = page.get_by_role("tab", name="Runs")
    expect(runs_tab).to_have_text(re.compile(r"Runs\s*\(103\)"))  # the whole history's count, not the page's
    runs_tab.click()
    history = page.get_by_test_id("runs-history")
    page.get_by_text("100 of 103 runs").wait_for()
    assert history.locator("tbody tr").count() == 100
    assert history.locator(f'tr[data-job="{oldest.pk}"]').count() == 0

    page.get_by_role("button", name="Load older runs (3 more)").click()
    page.get_by_text("103 runs", exact=True).wait_for()
    assert history.locator("tbody tr").count() == 103
    history.locator(f'tr[data-job="{oldest.pk}"]').wait_for()
    assert page.get_by_role("button", name=re.compile("Load older runs")).count() == 0
    shot("runs-paged")


def put_file(url: str, key: str, workspace_id: int, path: str, text: str) -> None:
    with api_client(url, key) as client:
        response = client.put(f"workspaces/{workspace_id}/files/{path}", content=text.encode())
        assert response.status_code in (200, 201), response.text


def run_state(page):
    return page.get_by_test_id("current-state")


# --- 6. 100k lines of output -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_output_keeps_up_with_100k_lines(tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot):
    put_file(live_server_url, tenant[2], workspace.id, "lines.py", LINES)
    open_ide(page, live_server_url, workspace.id)
    page.get_by_label("Entrypoint").select_option("lines.py")
    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    expect(run_state(page)).to_have_text("succeeded", timeout=120_000)
    # Follows the tail: the last line is in sight.
    last = output.locator(".logline .text", has_text=re.compile(r"^line 99999$"))
    expect(last).to_be_visible(timeout=30_000)
    assert page.get_by_role("checkbox", name="Follow").is_checked()
    assert int(output.get_attribute("data-lines")) >= 100_000
    shot("100k-tail")

    # The top: line 0 (the browser keeps 200k lines, so nothing was dropped).
    output.focus()
    page.keyboard.press("Home")
    first = output.locator(".logline .text", has_text=re.compile(r"^line 0$"))
    expect(first).to_be_visible()
    expect(page.get_by_role("checkbox", name="Follow")).not_to_be_checked()
    assert output.get_by_text("earlier lines not kept").count() == 0
    shot("100k-top")

    # Still responsive: another tab answers a click at once.
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name=re.compile("^Runs")).click()
    expect(page.get_by_test_id("runs-history")).to_be_visible(timeout=5_000)
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Output").click()
    expect(output.locator(".logline").first).to_be_visible(timeout=5_000)


# --- 7. Runtime rebuild after saving the spec --------------------------------------------------------------------


@pytest.mark.slow
def test_saving_the_spec_offers_a_rebuild_that_streams_to_ready(
    tenant, workspace, live_server_url, jobs_worker, frontend_dist, page, shot
):
    open_ide(page, live_server_url, workspace.id)
    tree_item(page, ".pyrun/environment.yml").locator(".label").click()
    page.locator(".monaco-editor .view-lines", has_text="dependencies").wait_for()
    page.locator(".monaco-editor .view-lines").first.click()
    page.keyboard.press("ControlOrMeta+A")
    paste(page, SIX_ENV)
    page.keyboard.press("ControlOrMeta+S")
    page.locator('[role=tab][data-dirty="false"]', has_text="environment.yml").wait_for()
    with api_client(live_server_url, tenant[2]) as client:
        assert client.get(f"workspaces/{workspace.id}/files/.pyrun/environment.yml").text == SIX_ENV

    toast = page.get_by_role("status").locator(".toast", has_text="Rebuild runtime?")
    toast.wait_for()
    shot("rebuild-offered")
    toast.get_by_role("button", name="Rebuild runtime").click()
    expect(page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Runtime")).to_have_attribute(
        "aria-selected", "true"
    )
    build_log = page.get_by_role("log", name="Runtime build log")
    expect(build_log).to_contain_text("six", timeout=120_000)  # the log streams while it builds
    expect(page.get_by_test_id("runtime-state")).to_have_text("ready", timeout=180_000)
    shot("runtime-ready")
    with api_client(live_server_url, tenant[2]) as client:
        current = client.get(f"workspaces/{workspace.id}/").json()["runtime"]
        assert current["state"] == "ready"


# --- 9. Metrics of a finished Lithops run ------------------------------------------------------------------------


@pytest.mark.slow
def test_metrics_of_a_finished_lithops_run(tenant, live_server_url, jobs_worker, frontend_dist, page, shot):
    org, user, _ = tenant
    lithops = in_thread(create_workspace, org=org, user=user, name="lithops metrics", template="lithops")
    open_ide(page, live_server_url, lithops.id, first_file="example.py")
    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    expect(output).to_contain_text("sum: 285", timeout=180_000)
    expect(run_state(page)).to_have_text("succeeded")

    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Metrics").click()
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_have_attribute("aria-busy", "false")
    tiles = {}
    for label in ("Tasks", "Finished", "Failed"):
        tile = metrics.get_by_text(label, exact=True).locator("xpath=..")
        tiles[label] = tile
    expect(tiles["Tasks"]).to_contain_text("10")
    expect(tiles["Finished"]).to_contain_text("10")
    expect(tiles["Failed"]).to_contain_text("0")
    canvases = metrics.locator("canvas")
    expect(canvases.first).to_be_visible()
    assert canvases.count() >= 4
    # The charts drew something: every canvas has a size and pixels; the concurrency curve and the duration bars
    # are drawn in the theme's --running colour (axes and "No data yet" are not), once their data has come.
    page.wait_for_function(
        """() => {
            const [r, g, b] = getComputedStyle(document.documentElement).getPropertyValue('--running').trim()
                .match(/[0-9a-f]{2}/gi).map(h => parseInt(h, 16));
            const count = (canvas, coloured) => {
                if (!canvas || !canvas.width || !canvas.height) return 0;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 0; i < data.length; i += 4)
                    if (coloured ? Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 30
                                 : data[i + 3] !== 0) n++;
                return n;
            };
            const chart = name => document.querySelector(`[data-testid=metrics] section[aria-label="${name}"] canvas`);
            const all = [...document.querySelectorAll('[data-testid=metrics] canvas')];
            return all.every(c => count(c, false) > 0)
                && count(chart('Concurrency over time'), true) > 50 && count(chart('Duration histogram'), true) > 50;
        }""",
        timeout=30_000,
    )
    shot("metrics")


# --- 10. What a Lithops task printed ---------------------------------------------------------------------------

PRINTING_MAP = """\
import sys
import lithops


def shout(x):
    print(f"hello from task {x}")
    print(f"warning from task {x}", file=sys.stderr)
    return x


executor = lithops.FunctionExecutor()
print("results:", executor.get_result(executor.map(shout, range(3))))
"""


@pytest.mark.slow
def test_a_printing_map_shows_its_prints_in_the_task_panel(tenant, live_server_url, jobs_worker, frontend_dist, page,
                                                          shot):  # fmt: skip
    org, user, key = tenant
    lithops = in_thread(create_workspace, org=org, user=user, name="printing map", template="lithops")
    put_file(live_server_url, key, lithops.id, "shout.py", PRINTING_MAP)
    open_ide(page, live_server_url, lithops.id, first_file="example.py")
    page.get_by_label("Entrypoint").select_option("shout.py")
    page.get_by_role("button", name="▶ Run").click()
    output = page.get_by_role("log", name=re.compile("Output of run"))
    expect(output).to_contain_text("results: [0, 1, 2]", timeout=180_000)
    expect(run_state(page)).to_have_text("succeeded")
    # The Output log has each task's lines, named by their task, on a stream of their own.
    expect(output.locator(".logline.task", has_text="[task M000/1] hello from task 1")).to_have_count(1)
    # The stream menu keeps the task output alone.
    page.get_by_role("combobox", name="Stream").select_option(label="task output")
    shown = output.locator(".logline .text")
    expect(shown).to_have_count(6)
    assert all(text.startswith("[task M000/") for text in shown.all_inner_texts())
    page.get_by_role("combobox", name="Stream").select_option("")

    tree_item(page, "shout.py").click()  # the code that printed, beside what it printed (the README's picture)
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Gantt").click()
    chart = page.get_by_test_id("gantt")
    expect(chart).to_have_attribute("data-bars", "3")
    # The keyboard cursor goes to a bar of the first lane; Enter opens that task's details.
    page.get_by_role("img", name=re.compile("Gantt chart of the job")).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    details = page.get_by_role("region", name="Task details")
    key_text = details.locator("strong").inner_text()
    call = int(key_text.rsplit("/", 1)[1])
    printed = details.get_by_test_id("task-output")
    expect(printed).to_have_text(f"hello from task {call}\nwarning from task {call}\n")
    page.set_viewport_size({"width": 1280, "height": 960})  # room for the chart and the details in the picture
    printed.scroll_into_view_if_needed()
    expect(printed).to_be_visible()
    shot("task-output")


# --- 11. Pipelines gallery ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_pipelines_gallery_launches_montecarlo(tenant, live_server_url, jobs_worker, frontend_dist, page, shot):
    with api_client(live_server_url, tenant[2]) as client:
        listed = client.get("pipelines/").json()
    listed = listed["results"] if isinstance(listed, dict) else listed
    assert "montecarlo" in [p["slug"] for p in listed]

    login(page, live_server_url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipelines").click()
    page.get_by_role("heading", name="Pipelines", exact=True).wait_for()
    cards = page.locator("article.card")
    expect(cards).to_have_count(len(listed))
    for pipeline in listed:
        expect(page.get_by_role("article", name=pipeline["title"])).to_be_visible()
    shot("gallery")

    card = page.get_by_role("article", name="Monte Carlo π")
    card.get_by_role("button", name="Options").click()
    montecarlo = next(p for p in listed if p["slug"] == "montecarlo")
    assert card.get_by_label("Backend").locator("option").all_inner_texts() == montecarlo["backends"]
    card.get_by_label("Workspace name").fill("pi from the gallery")
    card.get_by_label("tasks").fill("2")
    card.get_by_label("samples").fill("10000")
    card.get_by_label("rounds").fill("1")
    shot("montecarlo-options")
    card.get_by_role("button", name="Launch Monte Carlo π").click()

    # The IDE opens on the new workspace with its run in the output panel.
    page.wait_for_url(re.compile(r"/w/\d+\?job=\d+&tab=output"))
    job_id = int(re.search(r"job=(\d+)", page.url).group(1))
    expect(page.get_by_role("toolbar", name="Run").get_by_title("Workspace")).to_have_text("pi from the gallery")
    output = page.get_by_role("log", name=f"Output of run {job_id}")
    expect(output).to_be_visible()
    expect(run_state(page)).to_have_text("succeeded", timeout=180_000)
    expect(output).to_contain_text("pi ~ ")
    expect(page.get_by_role("tab", name=re.compile("montecarlo.py"))).to_be_visible()
    shot("montecarlo-run")
    # The results the run wrote appear in the tree once it ended, with no reload, and the plot opens as an image.
    tree_item(page, "results").locator(".label").first.click()
    tree_item(page, "results/montecarlo.png").locator(".label").first.click()
    page.wait_for_function("() => document.querySelector('#editor-panel .file-preview img')?.naturalWidth > 100")
    assert page.locator("#editor-panel .monaco-editor").count() == 0
    shot("montecarlo-plot")
    with api_client(live_server_url, tenant[2]) as client:
        job = client.get(f"jobs/{job_id}/").json()
    assert job["state"] == "succeeded" and job["entrypoint"] == "montecarlo.py"


# --- 11. The Gantt of a running job with a big history ---------------------------------------------------------


def test_gantt_of_a_running_job_loads_its_history_as_columns_then_follows_live(
    tenant, workspace, live_server_url, frontend_dist, page, shot
):
    import time

    from jobs.models import Job, JobState
    from monitoring import live
    from monitoring.models import TaskEvent
    from monitoring.wire import encode_events

    org, user, _ = tenant
    tasks = 12_000  # three catch-up pages of the socket
    origin = time.time() - 600

    def event(job: Job, k: int) -> TaskEvent:
        failed = k == 7
        return TaskEvent(job=job, seq=k + 1, framework="lithops", group="ex/M000", key=f"ex/M000/{k:05d}",
                         phase="task", status="failed" if failed else "finished", lane=f"pid {k % 8}",
                         start=origin + k * 0.04, end=origin + k * 0.04 + 0.3,
                         error="ValueError: boom" if failed else "")  # fmt: skip

    def make_job() -> Job:
        job = Job.objects.create(org=org, workspace=workspace, created_by=user, entrypoint="main.py",
                                 backend="lithops-localhost", state=JobState.RUNNING)  # fmt: skip
        TaskEvent.objects.bulk_create([event(job, k) for k in range(tasks)], batch_size=2000)
        return job

    job = in_thread(make_job)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    login(page, live_server_url)
    page.goto(f"{live_server_url}/w/{workspace.pk}?job={job.pk}")
    page.get_by_role("tablist", name="Panels").get_by_role("tab", name="Gantt").click()
    gantt = page.get_by_test_id("gantt")
    # Every task of the history, laid out in the browser from the socket's columns.
    expect(gantt).to_have_attribute("data-tasks", str(tasks), timeout=60_000)
    expect(gantt).to_have_attribute("data-source", "local")
    assert any(f"/ws/jobs/{job.pk}/" in url and "tasks_format=columns" in url for url in sockets), sockets

    # A task that ends now arrives as a live event and joins them.
    def publish_one() -> None:
        row = event(job, tasks)
        row.start, row.end = time.time() - 1, time.time()
        row.save()
        live.publish_tasks(job.pk, encode_events([live.task_dict(row)]), row.seq, row.seq)

    in_thread(publish_one)
    expect(gantt).to_have_attribute("data-tasks", str(tasks + 1), timeout=30_000)
    page.get_by_text(f"{tasks + 1:,} tasks").wait_for()
    shot("gantt-running-job")
