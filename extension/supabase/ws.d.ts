// The one use of `ws` here: as the WebSocket class supabase-js's Realtime client is given on Node 20.
declare module 'ws' {
  const WebSocket: new (address: string, protocols?: string | string[]) => unknown;
  export default WebSocket;
}
