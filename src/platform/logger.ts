import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured log. Secrets never reach it: request logging records method, host, path (no query, which may
 * carry identifiers but never secrets in our surfaces), status and timing, and the redaction list below
 * guards against anyone logging a header bag or a token response by mistake.
 */
export function createLogger(level: string, destination?: string): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          "*.headers.authorization",
          "client_secret",
          "*.client_secret",
          "clientSecret",
          "*.clientSecret",
          "access_token",
          "*.access_token",
          "x-identity-header",
          "*.x-identity-header",
        ],
        censor: "[redacted]",
      },
    },
    destination ? pino.destination({ dest: destination, mkdir: true, sync: false }) : pino.destination(2),
  );
}

export const silentLogger = (): Logger => pino({ level: "silent" });
