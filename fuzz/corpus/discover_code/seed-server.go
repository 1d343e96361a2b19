port := os.Getenv("PORT")
if port == "" {
	port = "8082"
}
srv := &http.Server{Addr: ":" + port}
ln, _ := net.ListenPacket("udp", ":53")
rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
