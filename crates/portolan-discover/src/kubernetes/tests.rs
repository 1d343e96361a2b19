use super::*;

fn run(text: &str) -> FileReport {
    parse("k8s.yaml", text, &Context::default())
}

const APP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1
          args: ["--port", "8000"]
          ports:
            - containerPort: 8000
            - containerPort: 9100
              hostPort: 19100
              hostIP: 127.0.0.1
              protocol: UDP
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  ports:
    - name: http
      port: 80
      targetPort: 8000
      nodePort: 30080
    - port: 8443
      targetPort: https
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
    - hosts: [example.com]
  rules:
    - host: example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
          - path: /admin
            backend:
              service:
                name: admin
                port:
                  name: http
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
spec:
  ingress:
    - ports:
        - port: 8000
        - port: 32000
          endPort: 32010
          protocol: UDP
        - port: http
  egress:
    - ports:
        - port: 5432
"#;

#[test]
fn workloads_services_ingresses_and_policies() {
    let r = run(APP);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let u = &r.uses;
    let summary: Vec<_> = u
        .iter()
        .map(|u| {
            (
                u.role,
                u.port.lo,
                u.port.hi,
                u.service.clone().unwrap_or_default(),
            )
        })
        .collect();
    let s = |r, lo, hi, n: &str| (r, lo, hi, n.to_string());
    assert_eq!(
        summary,
        vec![
            s(Role::Listen, 8000, 8000, "web"),
            s(Role::Listen, 9100, 9100, "web"),
            s(Role::Publish, 19100, 19100, "web"),
            s(Role::Expose, 80, 80, "web"),
            s(Role::Publish, 30080, 30080, "web"),
            s(Role::Expose, 8443, 8443, "web"),
            s(Role::Expose, 8000, 8000, ""),
            s(Role::Expose, 32000, 32010, ""),
            s(Role::Connect, 5432, 5432, ""),
        ]
    );
    assert_eq!(u[0].at.to_string(), "k8s.yaml:13:30");
    assert!(u[0].snippet.contains("container `app`"), "{}", u[0].snippet);
    assert_eq!(u[1].transport, Transport::Udp);
    assert_eq!(u[2].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[2].target, Some(PortRange::single(9100)));
    assert_eq!(u[2].publisher, Some(Publisher::K8sNodeport));
    assert_eq!(u[3].target, Some(PortRange::single(8000)));
    assert_eq!(u[3].at.to_string(), "k8s.yaml:27:13");
    assert_eq!(u[4].publisher, Some(Publisher::K8sNodeport));
    assert_eq!(u[4].target, Some(PortRange::single(8000)));
    assert_eq!(u[4].at.to_string(), "k8s.yaml:29:17");
    assert_eq!(u[5].target, None);
    assert!(
        u[5].snippet.contains("named targetPort `https`"),
        "{}",
        u[5].snippet
    );
    assert_eq!(u[6].confidence, Confidence::Medium);
    assert!(u[6].snippet.contains("allow-web"), "{}", u[6].snippet);
    assert_eq!(u[7].transport, Transport::Udp);

    let routes = &r.routes;
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].upstream, "web");
    assert_eq!(routes[0].port, Some(80));
    assert_eq!(routes[0].listen, vec![80, 443]);
    assert_eq!(routes[0].server_names, vec!["example.com".to_string()]);
    assert_eq!(routes[0].path.as_deref(), Some("/"));
    assert_eq!(routes[0].kind, ProxyKind::Http);
    assert_eq!(routes[0].at.to_string(), "k8s.yaml:50:27");
    assert_eq!(routes[1].upstream, "admin");
    assert_eq!(routes[1].port, None);
}

#[test]
fn old_ingress_lists_and_other_workloads() {
    let text = r"apiVersion: v1
kind: List
items:
  - apiVersion: extensions/v1beta1
    kind: Ingress
    metadata: {name: old}
    spec:
      backend: {serviceName: fallback, servicePort: 8080}
      rules:
        - http:
            paths:
              - backend:
                  serviceName: api
                  servicePort: 3000
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - name: job
                  ports: [{containerPort: 7000}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: solo}
    spec:
      hostNetwork: true
      initContainers:
        - name: init
          ports: [{containerPort: 7001}]
";
    let r = run(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let routes: Vec<_> = r
        .routes
        .iter()
        .map(|r| (r.upstream.as_str(), r.port, r.listen.clone()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("fallback", Some(8080), vec![80]),
            ("api", Some(3000), vec![80])
        ]
    );
    let ports: Vec<_> = r
        .uses
        .iter()
        .map(|u| (u.port.lo, u.service.clone()))
        .collect();
    assert_eq!(
        ports,
        vec![(7000, Some("nightly".into())), (7001, Some("solo".into()))]
    );
    assert!(
        r.uses[1].snippet.contains("hostNetwork"),
        "{}",
        r.uses[1].snippet
    );
}

#[test]
fn malformed_documents_do_not_hide_the_others() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80}]\n---\nkind: Service\nspec: [unclosed\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  ports:\n    - port: 99999\n    - port: 81\n";
    let r = run(text);
    let ports: Vec<_> = r.uses.iter().map(|u| u.port.lo).collect();
    assert_eq!(ports, vec![80, 81]);
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    assert!(r.problems[0].reason.starts_with("malformed YAML"));
    assert!(
        (8..=9).contains(&r.problems[0].at.line),
        "{:?}",
        r.problems[0]
    );
    assert_eq!(r.problems[1].at.to_string(), "k8s.yaml:15:13");
}

#[test]
fn not_kubernetes() {
    assert_eq!(run("a: 1\n"), FileReport::default());
    assert_eq!(run(""), FileReport::default());
    assert!(looks_like("apiVersion: v1\nkind: Pod\n"));
    assert!(!looks_like("services: {}\n"));
}

#[test]
fn secrets_in_manifests_are_redacted() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      ports: [{containerPort: 5432}] # postgresql://u:hunter2@x:5432/d\n";
    let r = run(text);
    assert_eq!(r.uses.len(), 1);
    assert!(!format!("{r:?}").contains("hunter2"));
    assert_eq!(r.secrets.len(), 1);
}
