// A fault-injecting HTTP proxy on 127.0.0.1: forwards to a real server, but
// answers the first `failures` requests with an S3-style 503 SlowDown, so the
// client's real retry path runs against the real server behind it.

export interface FaultProxy {
  readonly endpoint: string;
  /** Requests answered with a fault. */
  readonly refused: number;
  /** Requests passed through. */
  readonly forwarded: number;
  stop(): Promise<void>;
}

export function startFaultProxy(target: string, failures: number): FaultProxy {
  let refused = 0, forwarded = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (refused < failures) {
      refused++;
      await request.body?.cancel();
      return new Response(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
        { status: 503, headers: { "content-type": "application/xml" } },
      );
    }
    forwarded++;
    const url = new URL(request.url);
    const upstream = new URL(url.pathname + url.search, target);
    const headers = new Headers(request.headers);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const response = await fetch(upstream, { method: request.method, headers, body });
    return new Response(response.body, { status: response.status, headers: response.headers });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    get refused() {
      return refused;
    },
    get forwarded() {
      return forwarded;
    },
    async stop() {
      await server.shutdown();
    },
  };
}
