// Globals the k6 runtime provides that @types/k6 does not declare (we compile with lib ES2020 only: no DOM, no
// Node). k6 routes console.* to its logger (stderr). See https://grafana.com/docs/k6/latest/javascript-api/
declare global {
    const console: {
        log(...args: unknown[]): void;
        info(...args: unknown[]): void;
        warn(...args: unknown[]): void;
        error(...args: unknown[]): void;
        debug(...args: unknown[]): void;
    };
}
export {};
