import { QueryClientProvider } from "@tanstack/react-query";
import { createQueryClient } from "../api/queries";
import { AppProvider, Toasts } from "../app";
import { click, render, settle } from "../testing/render";
import { OnceSecret } from "./OnceSecret";

// The app shell asks the server who is logged in: answer as the server would, with no organisations.
function serverWithNoOrgs() {
  return vi.fn(async (url: string) => {
    const body = url.includes("/me/") ? { user: { id: 1, email: "a@example.com" }, org: null, role: null } : [];
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  });
}

afterEach(() => {
  document.body.innerHTML = "";
  vi.unstubAllGlobals();
});

it("shows the secret once, copies it and goes away when done", async () => {
  vi.stubGlobal("fetch", serverWithNoOrgs());
  const writeText = vi.fn(async () => undefined);
  vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
  const done = vi.fn();
  const { container } = await render(
    <QueryClientProvider client={createQueryClient()}>
      <AppProvider>
        <OnceSecret value="tok_123" what="key" testId="new-token" label="New key" onDone={done}>
          <strong>Copy the key now</strong>: it is shown only once.
        </OnceSecret>
        <Toasts />
      </AppProvider>
    </QueryClientProvider>,
  );
  await settle();
  const alert = container.querySelector('[role="alert"]')!;
  expect(alert.getAttribute("aria-label")).toBe("New key");
  expect(alert.textContent).toContain("Copy the key now: it is shown only once.");
  expect(alert.querySelector('[data-testid="new-token"]')!.textContent).toBe("tok_123");

  const [copy, finish] = Array.from(alert.querySelectorAll("button"));
  expect(copy.textContent).toBe("Copy");
  await click(copy);
  await settle();
  expect(writeText).toHaveBeenCalledWith("tok_123");
  expect(container.querySelector('[role="status"]')!.textContent).toContain("Copied to the clipboard.");

  expect(finish.textContent).toBe("Done");
  await click(finish);
  expect(done).toHaveBeenCalledTimes(1);
});
