import nodemailer, { type Transporter } from "nodemailer";
import type { SendResult } from "./webhook-sender.js";

/**
 * Email receivers, sent for real over SMTP to --smtp-url with nodemailer. Azure sends alert mail from
 * azure-noreply@microsoft.com; so does this, to the local server the user chose. SMTP 4xx replies and
 * connection failures are retried; a 5xx reply (mailbox refused) is final.
 */
export const FROM = '"Microsoft Azure" <azure-noreply@microsoft.com>';
const TIMEOUT_MS = 10_000;

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /** The Date header, from tdekv's clock (manual and scaled clocks included). */
  date?: Date;
}

export class EmailSender {
  private transport: Transporter | undefined;

  constructor(private readonly smtpUrl: string) {}

  async send(message: EmailMessage): Promise<SendResult> {
    this.transport ??= nodemailer.createTransport(this.smtpUrl, { connectionTimeout: TIMEOUT_MS, greetingTimeout: TIMEOUT_MS, socketTimeout: TIMEOUT_MS } as object);
    try {
      const info = await this.transport.sendMail({ from: FROM, to: message.to, subject: message.subject, text: message.text, ...(message.date ? { date: message.date } : {}) });
      const accepted = (info.accepted ?? []).length > 0;
      return { ok: accepted, retryable: !accepted, detail: accepted ? `SMTP accepted (${String(info.response ?? "").slice(0, 40)})` : "SMTP: no recipient accepted" };
    } catch (err) {
      const e = err as { code?: string; responseCode?: number; message?: string };
      if (typeof e.responseCode === "number") return { ok: false, retryable: e.responseCode < 500, detail: `SMTP ${e.responseCode}` };
      return { ok: false, retryable: true, detail: `SMTP ${e.code ?? "error"}` };
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}
