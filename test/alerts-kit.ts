import http from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/**
 * Real receivers for the alert suites: an HTTP server on 127.0.0.1 that records every POST (and can be
 * taken down and brought back on the same port), and an SMTP server (smtp-server) that records every mail.
 */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** performance.now() and Date.now() at receipt. */
  at: number;
  epoch: number;
}

export class HttpReceiver {
  readonly received: Received[] = [];
  private server: http.Server | undefined;
  port = 0;
  /** Answer this status instead of 200 (to play a failing receiver); 0 never answers (a hung receiver). */
  status = 200;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (this.status === 0) return;
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* keep text */
        }
        if (this.status >= 200 && this.status < 300) this.received.push({ path: req.url ?? "", headers: req.headers, body, at: performance.now(), epoch: Date.now() });
        res.writeHead(this.status, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Closes the listener: senders now get ECONNREFUSED. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path.split("?")[0] === path);
  }

  forEvent(path: string, eventDataId: string): Received[] {
    return this.at(path).filter((r) => JSON.stringify(r.body).includes(eventDataId));
  }

  /** Waits (bounded) for the notification of an event at a path. */
  async first(path: string, eventDataId: string): Promise<Received> {
    const got = await waitFor(`${path} to receive ${eventDataId}`, () => this.forEvent(path, eventDataId)[0]);
    return got;
  }
}

export interface Mail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  raw: string;
}

/** Undoes quoted-printable and header folding, enough to read what nodemailer wrote. */
function decodeMail(raw: string): { subject: string; text: string; from: string } {
  const [head = "", ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = head.replace(/\r?\n[ \t]+/g, " ");
  const h = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(headers)?.[1] ?? "";
  const decodeWord = (s: string) =>
    s.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
      enc.toUpperCase() === "B" ? Buffer.from(data, "base64").toString("utf8") : data.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_x, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    );
  let body = rest.join("\n\n");
  if (/quoted-printable/i.test(h("Content-Transfer-Encoding"))) {
    body = Buffer.from(body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1").toString("utf8");
  }
  return { subject: decodeWord(h("Subject")).replace(/\s+/g, " ").trim(), text: body.replace(/\r\n/g, "\n"), from: h("From") };
}

export class SmtpReceiver {
  readonly mails: Mail[] = [];
  private server: SMTPServer | undefined;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          const decoded = decodeMail(raw);
          this.mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, ...decoded });
          callback();
        });
      },
    });
    let listener: { address(): unknown } | undefined;
    await new Promise<void>((resolve) => {
      listener = this.server!.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (listener!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  to(address: string): Mail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }
}

/** Polls a condition (bounded): the suites wait for outcomes, they never assert on elapsed time. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The seed's SQL Database events (seed "Getting TDE status from the Activity log"). */
export function seedEvent(args: { subscriptionId: string; tenantId: string; rg: string; server: string; database: string; eventName: string; status: "Started" | "Succeeded" | "Failed"; managed?: boolean }) {
  const parent = args.managed ? "managedInstances" : "servers";
  const resourceId = `/subscriptions/${args.subscriptionId}/resourceGroups/${args.rg}/providers/Microsoft.Sql/${parent}/${args.server}/databases/${args.database}`;
  return {
    subscriptionId: args.subscriptionId,
    tenantId: args.tenantId,
    resourceId,
    category: "Administrative" as const,
    operationName: `Microsoft.Sql/${parent}/databases/write`,
    operationLocalized: args.managed ? "Update managed database" : "Update SQL database",
    eventName: args.eventName,
    status: args.status,
    description: `Database ${args.database} on Server ${args.server}: ${args.eventName} ${args.status}.`,
  };
}
