/** A promise resolved from outside, whose wait always has a timeout and a clear failure message. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return {
    resolve,
    promise,
    wait(timeoutMs: number, what: string): Promise<T> {
      return new Promise<T>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`Timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
        promise.then((v) => {
          clearTimeout(timer);
          res(v);
        });
      });
    },
  };
}
