await app.listen({ port: 3003, host: '0.0.0.0' });
const wss = new WebSocketServer({ port: 8080 });
