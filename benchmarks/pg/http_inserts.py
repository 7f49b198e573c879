"""POST /sql single-row INSERTs over keep-alive HTTP/1.1 connections; prints statements/s."""
import http.client, sys, threading, time

host, port, clients, per_client = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def run(n, offset):
    c = http.client.HTTPConnection(host, port)
    for i in range(n):
        c.request("POST", "/sql", body=f"INSERT INTO bench (v) VALUES ('row {offset + i}')", headers={"Content-Type": "text/plain"})
        r = c.getresponse(); r.read()
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}")
    c.close()

threads = [threading.Thread(target=run, args=(per_client, k * per_client)) for k in range(clients)]
start = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - start
print(f"POST /sql  clients={clients}  statements={clients * per_client}  {clients * per_client / elapsed:,.0f} statements/s")
