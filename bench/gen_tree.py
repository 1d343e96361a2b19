#!/usr/bin/env python3
"""A synthetic repository tree for the discovery benchmark (issue: discovery).

    python3 bench/gen_tree.py OUT_DIR [FILES] [SEED]

Writes FILES (default 100,000) files of the kinds `portolan discover` reads, ~2 KB each
(~200 MB): Python, JS/TS, Go, shell, package.json, compose, .env, nginx, Dockerfile,
Kubernetes YAML, systemd units, Procfiles, Spring properties. About one file in six
carries a port idiom; the rest is plausible filler code. Deterministic for a seed.
"""
import os
import random
import sys

out = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)

WORDS = ("user order item cache queue worker token session config value result "
         "handler request response client server index record batch stream event").split()


def filler(comment, n):
    lines = []
    for _ in range(n):
        a, b, c = rng.sample(WORDS, 3)
        k = rng.random()
        if k < 0.2:
            lines.append(f"{comment} {a} {b} {c}: keep {a} in sync with {c}")
        elif k < 0.6:
            lines.append(f"    {a}_{b} = compute_{c}({a}, {rng.randint(0, 999)})")
        else:
            lines.append(f"    if {a}.{b} is not None: return {c}[{rng.randint(0, 64)}]")
    return "\n".join(lines) + "\n"


def port():
    return rng.choice([3000, 5000, 5001, 8000, 8080, 8081, 9000, 9090, rng.randint(1024, 60000)])


KINDS = [
    # (weight, path pattern, generator)
    (40, "svc{d}/app/mod{i}.py", lambda: filler("#", 50) + (
        f"app.run(host='0.0.0.0', port={port()})\n" if rng.random() < 0.15 else
        f"PORT = int(os.getenv('PORT', {port()}))\n" if rng.random() < 0.1 else "")),
    (20, "web{d}/src/comp{i}.ts", lambda: filler("//", 50) + (
        f"server.listen({port()});\n" if rng.random() < 0.15 else "")),
    (6, "web{d}/src/view{i}.js", lambda: filler("//", 50) + (
        f"const PORT = process.env.PORT || {port()};\napp.listen(PORT);\n" if rng.random() < 0.2 else "")),
    (10, "gosvc{d}/pkg/file{i}.go", lambda: filler("//", 50) + (
        f'log.Fatal(http.ListenAndServe(":{port()}", nil))\n' if rng.random() < 0.15 else "")),
    (3, "scripts{d}/run{i}.sh", lambda: filler("#", 40) + (
        f"docker run -d -p 127.0.0.1:{port()}:{port()} redis\n" if rng.random() < 0.3 else "")),
    (3, "web{d}/pkg{i}/package.json", lambda:
        '{\n  "name": "pkg",\n  "scripts": {\n    "dev": "next dev -p %d",\n    "build": "next build"\n  },\n  "description": "%s"\n}\n'
        % (port(), " ".join(rng.choices(WORDS, k=250)))),
    (2, "stack{d}/s{i}/docker-compose.yml", lambda:
        "services:\n" + "".join(
            f"  svc{j}:\n    image: app:{j}\n    ports:\n      - \"127.0.0.1:{port()}:{port()}\"\n    environment:\n      - MODE=prod\n"
            for j in range(25))),
    (3, "stack{d}/s{i}/.env", lambda: "".join(
        f"{rng.choice(WORDS).upper()}_PORT={port()}\nDATABASE_URL=postgresql://app:pw{j}@db:5432/app\nFEATURE_{j}=on\n"
        for j in range(30))),
    (2, "nginx{d}/sites-available/site{i}.conf", lambda: "".join(
        f"server {{\n    listen {port()};\n    server_name s{j}.example.com;\n    location / {{\n        proxy_pass http://127.0.0.1:{port()};\n    }}\n}}\n"
        for j in range(12))),
    (3, "svc{d}/img{i}/Dockerfile", lambda: "FROM python:3.12\n" + filler("#", 40).replace("    ", "RUN echo ") +
        f"EXPOSE {port()}\nCMD [\"gunicorn\", \"-b\", \"0.0.0.0:{port()}\", \"app:app\"]\n"),
    (4, "k8s{d}/m{i}.yaml", lambda:
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n" + "".join(
            f"        - name: c{j}\n          image: img:{j}\n          ports:\n            - containerPort: {port()}\n"
            for j in range(20))),
    (1, "units{d}/u{i}.socket", lambda: "[Unit]\nDescription=" + " ".join(rng.choices(WORDS, k=200)) +
        f"\n\n[Socket]\nListenStream={port()}\n\n[Install]\nWantedBy=sockets.target\n"),
    (1, "apps{d}/p{i}/Procfile", lambda: f"web: gunicorn app:app --bind 0.0.0.0:${{PORT:-{port()}}}\nworker: celery -A app worker\n" + "# " + " ".join(rng.choices(WORDS, k=250)) + "\n"),
    (2, "java{d}/r{i}/application.properties", lambda: "".join(
        f"{rng.choice(WORDS)}.{rng.choice(WORDS)}={rng.randint(0, 999)}\n" for _ in range(80)) + f"server.port={port()}\n"),
]

weights = [k[0] for k in KINDS]
os.makedirs(out, exist_ok=True)
size = 0
for i in range(total):
    _, pattern, make = rng.choices(KINDS, weights=weights)[0]
    path = os.path.join(out, pattern.format(d=i % 50, i=i))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = make()
    with open(path, "w") as f:
        f.write(text)
    size += len(text)
print(f"{total} files, {size / 1e6:.0f} MB in {out}")
