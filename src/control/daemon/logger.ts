// Structured logs: one JSON object per line, one line per event (never per packet).
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, event: string, data?: Record<string, unknown>): void;
}

/** Writes JSON lines to a stream-like sink (stdout by default). */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return {
    log(level, event, data = {}) {
      write(JSON.stringify({ time: new Date().toISOString(), level, event, ...data }) + '\n');
    },
  };
}
