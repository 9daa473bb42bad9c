import { io } from 'socket.io-client';

/**
 * A plain socket.io-client socket with the SDK's transport settings (WebSocket only, a socket of its
 * own), for the load that the SDK does not model: a closed heartbeat loop, idle sockets, silent
 * streamers, and the baselines (which speak no presence protocol).
 */
export function rawSocket(url, namespace, token) {
  return io(`${url}${namespace}`, {
    forceNew: true,
    reconnection: false,
    transports: ['websocket'],
    timeout: 20_000,
    ...(token === undefined ? {} : { auth: { token } }),
  });
}

/** Resolves once `socket` received `event` (e.g. `session`); rejects on a connect error or after `ms`. */
export function once(socket, event, ms = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    socket.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
