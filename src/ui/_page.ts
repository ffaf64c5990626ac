// The HTML of the UI's pages: one shell the script fills in (its view named
// in data attributes), and a page the server writes whole for what is not
// there (a run id that names no report). Every value is escaped.

// Text between tags: quotes stay readable (a message quotes the value it names).
function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function frame(title: string, project: string | undefined, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeText(title)} · Glacier</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header class="top"><a class="brand" href="/">Glacier</a><nav id="nav"></nav><span class="project" title="the project folder">${
    escapeText(project ?? "")
  }</span></header>
${body}
</body>
</html>
`;
}

export function shellPage(
  page: { view: "runs" | "run" | "pipeline"; id?: string; title: string; project: string },
): string {
  return frame(
    page.title,
    page.project,
    `<main id="app" data-view="${page.view}" data-id="${
      escapeAttribute(page.id ?? "")
    }"><p class="muted">Loading…</p></main>
<script type="module" src="/assets/app.js"></script>`,
  );
}

export function errorPage(title: string, message: string): string {
  return frame(
    title,
    undefined,
    `<main id="app" data-view="error"><h1>${escapeText(title)}</h1><p class="advice" id="error">${
      escapeText(message)
    }</p><p><a href="/">All runs</a></p></main>`,
  );
}
