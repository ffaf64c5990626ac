// The UI's stylesheet, served as /assets/app.css. State colours match
// STATUS_COLORS in status_svg.ts (the graph's fills).
export const STYLE = String.raw`
:root {
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --link: #0969da;
  --waiting: #eeeeee; --running: #9ecbff; --done: #b6e3a8; --cached: #b8e6e0; --failed: #f4a6a6;
  --skipped: #f3e3a2; --interrupted: #ffc98a; --succeeded: #b6e3a8;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 14px; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
.top { display: flex; align-items: center; gap: 16px; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 16px; color: var(--fg); }
#nav { display: flex; gap: 12px; flex-wrap: wrap; }
#nav a.current { font-weight: 600; color: var(--fg); }
.project { margin-left: auto; color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
main { padding: 16px 20px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 12px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
h2 { font-size: 15px; margin: 24px 0 8px; }
.muted { color: var(--muted); }
.advice { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 10px 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.params { max-width: 380px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid rgba(0,0,0,.12); background: var(--waiting); white-space: nowrap; }
.status.running { background: var(--running); }
.status.succeeded, .status.done { background: var(--done); }
.status.cached { background: var(--cached); }
.status.failed { background: var(--failed); }
.status.interrupted, .status.stale { background: var(--interrupted); }
.status.skipped { background: var(--skipped); }
.live-dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #1a7f37; margin-right: 6px; }
.live-dot.off { background: #bbb; }
.conn { font-size: 12px; color: var(--muted); }
.facts { display: flex; gap: 24px; flex-wrap: wrap; margin: 4px 0 12px; color: var(--muted); }
.facts b { color: var(--fg); font-weight: 600; }
.actions { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--line); background: #f6f8fa; cursor: pointer; }
button.primary { background: #1f883d; color: #fff; border-color: #1a7f37; }
button:disabled { opacity: .55; cursor: not-allowed; }
.reason { color: var(--muted); font-size: 12px; max-width: 560px; }
.action-log { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0; background: var(--panel); }
.graph { border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; background: #fff; }
.graph svg { max-width: 100%; height: auto; }
.graph g.node { cursor: pointer; }
.graph svg a { text-decoration: none; }
.legend { display: flex; gap: 10px; flex-wrap: wrap; margin: 6px 0; font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; border: 1px solid rgba(0,0,0,.2); margin-right: 4px; vertical-align: -2px; background: var(--c); }
.error-box { border: 1px solid #cf222e; border-radius: 6px; margin: 10px 0; background: #ffebe9; }
.error-box h3 { margin: 0; padding: 8px 12px; font-size: 14px; border-bottom: 1px solid #f5c2c0; }
.error-box .message { padding: 8px 12px; white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.error-box details { padding: 0 12px 8px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
pre.log { background: #0d1117; color: #e6edf3; padding: 8px 10px; border-radius: 6px; max-height: 420px; overflow: auto; }
tr.selected td { background: #ddf4ff; }
tr.log-row td { background: var(--panel); }
.log-title { font-size: 12px; color: var(--muted); margin: 6px 0 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card h2 { margin-top: 0; }
.card.wide { grid-column: 1 / -1; }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.plain li { padding: 3px 0; }
.big { font-size: 22px; font-weight: 700; }
`;
