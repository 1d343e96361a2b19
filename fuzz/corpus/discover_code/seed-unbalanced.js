app.listen(
server.listen({ port: 
new WebSocketServer({
