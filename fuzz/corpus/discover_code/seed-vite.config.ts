export default defineConfig({ server: { host: true, port: 5175, proxy: { '/api': 'http://localhost:5000' } } })
