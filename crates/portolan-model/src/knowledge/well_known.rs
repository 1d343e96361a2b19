//! Owns the table of well-known ports — IANA-assigned services plus de-facto
//! defaults of widely used software — that portolan uses to name ports and to
//! detect collisions between a project's port ranges and common services.
//!
//! Assigned entries follow the IANA Service Name and Transport Protocol Port
//! Number Registry; de-facto entries follow the defaults documented by the
//! respective projects. Where several programs share a port by default (for
//! example 3000, 5000, 8080 or 9000) each one gets its own entry.

use KnownTransport::{Both, Tcp, Udp};
use PortCategory::{
    Admin, Cache, Database, Development, Directory, FileSharing, Infrastructure, Mail, Media,
    Messaging, Metrics, Other, Queue, RemoteAccess, Web,
};

/// Which transports a well-known port is used on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KnownTransport {
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// Both TCP and UDP.
    Both,
}

/// What kind of software usually listens there (drives the
/// `sensitive-without-auth` rule and docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortCategory {
    /// Databases, search engines and other persistent data stores.
    Database,
    /// In-memory caches and data grids.
    Cache,
    /// Message brokers, job and work queues.
    Queue,
    /// Monitoring, metrics, logging and tracing.
    Metrics,
    /// Administration consoles and management/control APIs.
    Admin,
    /// Web servers, HTTP proxies and application servers.
    Web,
    /// Mail transfer, submission and retrieval.
    Mail,
    /// Directory, naming-adjacent authentication and identity services.
    Directory,
    /// File transfer, file sharing and storage protocols.
    FileSharing,
    /// Remote shells, remote desktops and VPNs.
    RemoteAccess,
    /// Network infrastructure: DNS, DHCP, routing, service discovery,
    /// orchestration control planes.
    Infrastructure,
    /// Chat, news, paging and Internet-of-Things messaging protocols.
    Messaging,
    /// Audio/video streaming, voice and real-time media.
    Media,
    /// Development servers, debuggers and developer tooling.
    Development,
    /// Anything else.
    Other,
}

/// One entry of the well-known port table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WellKnownPort {
    /// The port number.
    pub port: u16,
    /// The transports the service uses on this port.
    pub transport: KnownTransport,
    /// Short lowercase id, e.g. "postgres", "redis", "ssh", "http", "prometheus".
    pub name: &'static str,
    /// One-line human description, e.g. `"PostgreSQL database"`.
    pub description: &'static str,
    /// What kind of software usually listens there.
    pub category: PortCategory,
    /// True for ports of widely deployed server software that a team would
    /// plausibly run on the same hosts (databases, caches, brokers, web, ssh,
    /// dns, mail, monitoring …) — a project range that contains one of them is
    /// a real collision risk. False for obscure/legacy assignments.
    pub major: bool,
    /// True when the protocol is encrypted by itself (ssh, https, imaps, ldaps,
    /// wireguard, openvpn …).
    pub encrypted: bool,
}

const MAJOR: bool = true;
const MINOR: bool = false;
const ENCRYPTED: bool = true;
const PLAIN: bool = false;

/// Shorthand constructor used to keep the table one entry per line.
const fn wk(
    port: u16,
    transport: KnownTransport,
    name: &'static str,
    description: &'static str,
    category: PortCategory,
    major: bool,
    encrypted: bool,
) -> WellKnownPort {
    WellKnownPort {
        port,
        transport,
        name,
        description,
        category,
        major,
        encrypted,
    }
}

/// The table of well-known ports, sorted by `(port, name)`.
///
/// `(port, name)` pairs are unique, and so are names: a port shared by several
/// programs has one entry per program.
#[rustfmt::skip]
pub static WELL_KNOWN: &[WellKnownPort] = &[
    wk(1, Tcp, "tcpmux", "TCP port service multiplexer", Other, MINOR, PLAIN),
    wk(7, Both, "echo", "Echo protocol", Other, MINOR, PLAIN),
    wk(9, Both, "discard", "Discard protocol", Other, MINOR, PLAIN),
    wk(11, Tcp, "systat", "Active users (systat)", Other, MINOR, PLAIN),
    wk(13, Both, "daytime", "Daytime protocol", Other, MINOR, PLAIN),
    wk(15, Tcp, "netstat", "Network status (netstat)", Other, MINOR, PLAIN),
    wk(17, Tcp, "qotd", "Quote of the day", Other, MINOR, PLAIN),
    wk(19, Both, "chargen", "Character generator", Other, MINOR, PLAIN),
    wk(20, Tcp, "ftp-data", "FTP data transfer", FileSharing, MAJOR, PLAIN),
    wk(21, Tcp, "ftp", "FTP control", FileSharing, MAJOR, PLAIN),
    wk(22, Tcp, "ssh", "Secure Shell (SSH, SFTP, SCP)", RemoteAccess, MAJOR, ENCRYPTED),
    wk(23, Tcp, "telnet", "Telnet", RemoteAccess, MINOR, PLAIN),
    wk(24, Tcp, "lmtp", "Local Mail Transfer Protocol (de-facto TCP port)", Mail, MINOR, PLAIN),
    wk(25, Tcp, "smtp", "Simple Mail Transfer Protocol", Mail, MAJOR, PLAIN),
    wk(37, Both, "time", "Time protocol (RFC 868)", Other, MINOR, PLAIN),
    wk(42, Both, "nameserver", "ARPA host name server / WINS replication", Directory, MINOR, PLAIN),
    wk(43, Tcp, "whois", "WHOIS (nicname)", Directory, MINOR, PLAIN),
    wk(49, Both, "tacacs", "TACACS+ authentication", Directory, MINOR, PLAIN),
    wk(53, Both, "dns", "Domain Name System", Infrastructure, MAJOR, PLAIN),
    wk(67, Udp, "dhcp", "DHCP / BOOTP server", Infrastructure, MAJOR, PLAIN),
    wk(68, Udp, "dhcp-client", "DHCP / BOOTP client", Infrastructure, MAJOR, PLAIN),
    wk(69, Udp, "tftp", "Trivial File Transfer Protocol", FileSharing, MINOR, PLAIN),
    wk(70, Tcp, "gopher", "Gopher", Web, MINOR, PLAIN),
    wk(77, Tcp, "priv-rjs", "Any private RJE service", Other, MINOR, PLAIN),
    wk(79, Tcp, "finger", "Finger user information", Directory, MINOR, PLAIN),
    wk(80, Tcp, "http", "HTTP", Web, MAJOR, PLAIN),
    wk(87, Tcp, "ttylink", "TTY link (link)", Other, MINOR, PLAIN),
    wk(88, Both, "kerberos", "Kerberos authentication (KDC)", Directory, MAJOR, ENCRYPTED),
    wk(95, Tcp, "supdup", "SUPDUP remote terminal", RemoteAccess, MINOR, PLAIN),
    wk(101, Tcp, "hostname", "NIC host name server", Directory, MINOR, PLAIN),
    wk(102, Tcp, "iso-tsap", "ISO-TSAP (also Siemens S7comm)", Infrastructure, MINOR, PLAIN),
    wk(103, Tcp, "gppitnp", "Genesis point-to-point trans net", Other, MINOR, PLAIN),
    wk(104, Tcp, "acr-nema", "ACR-NEMA / DICOM medical imaging", Other, MINOR, PLAIN),
    wk(109, Tcp, "pop2", "Post Office Protocol v2", Mail, MINOR, PLAIN),
    wk(110, Tcp, "pop3", "Post Office Protocol v3", Mail, MAJOR, PLAIN),
    wk(111, Both, "sunrpc", "ONC RPC portmapper (rpcbind)", Infrastructure, MAJOR, PLAIN),
    wk(113, Tcp, "ident", "Ident / authentication service (auth)", Directory, MINOR, PLAIN),
    wk(115, Tcp, "sftp-simple", "Simple File Transfer Protocol (not SSH SFTP)", FileSharing, MINOR, PLAIN),
    wk(117, Tcp, "uucp-path", "UUCP path service", Other, MINOR, PLAIN),
    wk(119, Tcp, "nntp", "Network News Transfer Protocol", Messaging, MINOR, PLAIN),
    wk(123, Udp, "ntp", "Network Time Protocol", Infrastructure, MAJOR, PLAIN),
    wk(135, Tcp, "msrpc", "Microsoft RPC endpoint mapper (epmap)", Infrastructure, MAJOR, PLAIN),
    wk(137, Udp, "netbios-ns", "NetBIOS name service", FileSharing, MAJOR, PLAIN),
    wk(138, Udp, "netbios-dgm", "NetBIOS datagram service", FileSharing, MAJOR, PLAIN),
    wk(139, Tcp, "netbios-ssn", "NetBIOS session service (SMB over NetBIOS)", FileSharing, MAJOR, PLAIN),
    wk(143, Tcp, "imap", "Internet Message Access Protocol", Mail, MAJOR, PLAIN),
    wk(161, Udp, "snmp", "Simple Network Management Protocol", Admin, MAJOR, PLAIN),
    wk(162, Udp, "snmp-trap", "SNMP traps", Admin, MAJOR, PLAIN),
    wk(177, Udp, "xdmcp", "X Display Manager Control Protocol", RemoteAccess, MINOR, PLAIN),
    wk(179, Tcp, "bgp", "Border Gateway Protocol", Infrastructure, MAJOR, PLAIN),
    wk(199, Tcp, "smux", "SNMP multiplexer", Admin, MINOR, PLAIN),
    wk(220, Tcp, "imap3", "Interactive Mail Access Protocol v3", Mail, MINOR, PLAIN),
    wk(319, Udp, "ptp-event", "Precision Time Protocol event messages", Infrastructure, MINOR, PLAIN),
    wk(320, Udp, "ptp-general", "Precision Time Protocol general messages", Infrastructure, MINOR, PLAIN),
    wk(389, Both, "ldap", "Lightweight Directory Access Protocol", Directory, MAJOR, PLAIN),
    wk(427, Both, "svrloc", "Service Location Protocol (SLP)", Directory, MINOR, PLAIN),
    wk(443, Both, "https", "HTTPS (HTTP over TLS; HTTP/3 over QUIC)", Web, MAJOR, ENCRYPTED),
    wk(444, Tcp, "snpp", "Simple Network Paging Protocol", Messaging, MINOR, PLAIN),
    wk(445, Tcp, "smb", "SMB / CIFS file sharing (microsoft-ds)", FileSharing, MAJOR, PLAIN),
    wk(464, Both, "kpasswd", "Kerberos password change", Directory, MINOR, ENCRYPTED),
    wk(465, Tcp, "smtps", "SMTP over implicit TLS (submissions)", Mail, MAJOR, ENCRYPTED),
    wk(500, Udp, "isakmp", "IPsec IKE key exchange (ISAKMP)", RemoteAccess, MAJOR, ENCRYPTED),
    wk(502, Tcp, "modbus", "Modbus/TCP industrial control (mbap)", Infrastructure, MINOR, PLAIN),
    wk(512, Udp, "biff", "New-mail notification (comsat/biff)", Mail, MINOR, PLAIN),
    wk(512, Tcp, "exec", "Remote process execution (rexec)", RemoteAccess, MINOR, PLAIN),
    wk(513, Tcp, "login", "Remote login (rlogin)", RemoteAccess, MINOR, PLAIN),
    wk(513, Udp, "who", "Logged-in users (rwho)", Other, MINOR, PLAIN),
    wk(514, Tcp, "shell", "Remote shell (rsh)", RemoteAccess, MINOR, PLAIN),
    wk(514, Udp, "syslog", "Syslog", Infrastructure, MAJOR, PLAIN),
    wk(515, Tcp, "printer", "Line Printer Daemon (LPD)", Other, MINOR, PLAIN),
    wk(517, Udp, "talk", "Talk", Messaging, MINOR, PLAIN),
    wk(518, Udp, "ntalk", "Talk (new protocol)", Messaging, MINOR, PLAIN),
    wk(520, Udp, "rip", "Routing Information Protocol", Infrastructure, MINOR, PLAIN),
    wk(521, Udp, "ripng", "RIPng (RIP for IPv6)", Infrastructure, MINOR, PLAIN),
    wk(526, Tcp, "newdate", "Tempo / newdate", Other, MINOR, PLAIN),
    wk(530, Tcp, "courier", "Courier RPC", Other, MINOR, PLAIN),
    wk(531, Tcp, "conference", "Chat / conference service", Messaging, MINOR, PLAIN),
    wk(532, Tcp, "netnews", "Readnews (netnews)", Messaging, MINOR, PLAIN),
    wk(540, Tcp, "uucp", "Unix-to-Unix Copy daemon (uucpd)", FileSharing, MINOR, PLAIN),
    wk(543, Tcp, "klogin", "Kerberized rlogin", RemoteAccess, MINOR, ENCRYPTED),
    wk(544, Tcp, "kshell", "Kerberized rsh", RemoteAccess, MINOR, ENCRYPTED),
    wk(546, Udp, "dhcpv6-client", "DHCPv6 client", Infrastructure, MAJOR, PLAIN),
    wk(547, Udp, "dhcpv6-server", "DHCPv6 server", Infrastructure, MAJOR, PLAIN),
    wk(548, Tcp, "afp", "Apple Filing Protocol over TCP", FileSharing, MINOR, PLAIN),
    wk(554, Both, "rtsp", "Real Time Streaming Protocol", Media, MAJOR, PLAIN),
    wk(556, Tcp, "remotefs", "RFS remote file system server", FileSharing, MINOR, PLAIN),
    wk(563, Tcp, "nntps", "NNTP over TLS", Messaging, MINOR, ENCRYPTED),
    wk(587, Tcp, "submission", "Mail submission (SMTP MSA)", Mail, MAJOR, PLAIN),
    wk(593, Tcp, "http-rpc-epmap", "Microsoft RPC over HTTP endpoint mapper", Infrastructure, MINOR, PLAIN),
    wk(601, Tcp, "syslog-conn", "Reliable syslog (BEEP)", Infrastructure, MINOR, PLAIN),
    wk(623, Udp, "ipmi", "IPMI / ASF remote management (RMCP)", Admin, MINOR, PLAIN),
    wk(631, Both, "ipp", "Internet Printing Protocol (CUPS)", Other, MAJOR, PLAIN),
    wk(636, Tcp, "ldaps", "LDAP over TLS", Directory, MAJOR, ENCRYPTED),
    wk(646, Both, "ldp", "MPLS Label Distribution Protocol", Infrastructure, MINOR, PLAIN),
    wk(647, Tcp, "dhcp-failover", "DHCP failover (ISC dhcpd)", Infrastructure, MINOR, PLAIN),
    wk(655, Both, "tinc", "tinc VPN", RemoteAccess, MINOR, ENCRYPTED),
    wk(694, Udp, "ha-cluster", "Linux-HA heartbeat", Infrastructure, MINOR, PLAIN),
    wk(749, Tcp, "kerberos-adm", "Kerberos administration (kadmin)", Directory, MINOR, ENCRYPTED),
    wk(783, Tcp, "spamd", "SpamAssassin daemon (spamd)", Mail, MINOR, PLAIN),
    wk(853, Both, "dns-over-tls", "DNS over TLS / DNS over QUIC (domain-s)", Infrastructure, MAJOR, ENCRYPTED),
    wk(873, Tcp, "rsync", "rsync daemon", FileSharing, MAJOR, PLAIN),
    wk(902, Tcp, "vmware-authd", "VMware ESXi / Workstation authentication daemon", Admin, MINOR, ENCRYPTED),
    wk(953, Tcp, "rndc", "BIND remote name daemon control", Admin, MINOR, PLAIN),
    wk(989, Tcp, "ftps-data", "FTP data over TLS", FileSharing, MINOR, ENCRYPTED),
    wk(990, Tcp, "ftps", "FTP control over TLS", FileSharing, MINOR, ENCRYPTED),
    wk(992, Tcp, "telnets", "Telnet over TLS", RemoteAccess, MINOR, ENCRYPTED),
    wk(993, Tcp, "imaps", "IMAP over TLS", Mail, MAJOR, ENCRYPTED),
    wk(995, Tcp, "pop3s", "POP3 over TLS", Mail, MAJOR, ENCRYPTED),
    wk(1025, Tcp, "mailhog-smtp", "MailHog / Mailpit SMTP capture", Development, MAJOR, PLAIN),
    wk(1080, Tcp, "socks", "SOCKS proxy", Infrastructure, MAJOR, PLAIN),
    wk(1099, Tcp, "rmiregistry", "Java RMI registry", Development, MINOR, PLAIN),
    wk(1194, Both, "openvpn", "OpenVPN", RemoteAccess, MAJOR, ENCRYPTED),
    wk(1313, Tcp, "hugo", "Hugo development server", Development, MINOR, PLAIN),
    wk(1344, Tcp, "icap", "Internet Content Adaptation Protocol", Web, MINOR, PLAIN),
    wk(1352, Tcp, "lotus-notes", "HCL (Lotus) Notes / Domino NRPC", Messaging, MINOR, PLAIN),
    wk(1414, Tcp, "ibm-mq", "IBM MQ queue manager listener", Queue, MAJOR, PLAIN),
    wk(1433, Tcp, "mssql", "Microsoft SQL Server", Database, MAJOR, PLAIN),
    wk(1434, Udp, "mssql-browser", "Microsoft SQL Server Browser (ms-sql-m)", Database, MAJOR, PLAIN),
    wk(1494, Tcp, "citrix-ica", "Citrix ICA", RemoteAccess, MINOR, PLAIN),
    wk(1512, Both, "wins", "Windows Internet Name Service", Directory, MINOR, PLAIN),
    wk(1521, Tcp, "oracle", "Oracle Database listener", Database, MAJOR, PLAIN),
    wk(1645, Udp, "radius-legacy", "RADIUS authentication (legacy port)", Directory, MINOR, PLAIN),
    wk(1646, Udp, "radius-acct-legacy", "RADIUS accounting (legacy port)", Directory, MINOR, PLAIN),
    wk(1701, Udp, "l2tp", "Layer 2 Tunneling Protocol", RemoteAccess, MAJOR, PLAIN),
    wk(1719, Udp, "h323-ras", "H.323 gatekeeper RAS (h323gatestat)", Media, MINOR, PLAIN),
    wk(1720, Tcp, "h323", "H.323 call signalling (h323hostcall)", Media, MINOR, PLAIN),
    wk(1723, Tcp, "pptp", "Point-to-Point Tunneling Protocol", RemoteAccess, MAJOR, PLAIN),
    wk(1755, Both, "mms", "Microsoft Media Services (MMS)", Media, MINOR, PLAIN),
    wk(1801, Both, "msmq", "Microsoft Message Queuing", Queue, MINOR, PLAIN),
    wk(1812, Udp, "radius", "RADIUS authentication", Directory, MAJOR, PLAIN),
    wk(1813, Udp, "radius-acct", "RADIUS accounting", Directory, MAJOR, PLAIN),
    wk(1883, Tcp, "mqtt", "MQTT", Messaging, MAJOR, PLAIN),
    wk(1900, Udp, "ssdp", "SSDP / UPnP discovery", Infrastructure, MAJOR, PLAIN),
    wk(1935, Tcp, "rtmp", "Real-Time Messaging Protocol", Media, MAJOR, PLAIN),
    wk(1985, Udp, "hsrp", "Hot Standby Router Protocol", Infrastructure, MINOR, PLAIN),
    wk(2000, Tcp, "cisco-sccp", "Cisco Skinny Client Control Protocol", Media, MINOR, PLAIN),
    wk(2003, Tcp, "graphite", "Graphite Carbon plaintext receiver", Metrics, MAJOR, PLAIN),
    wk(2004, Tcp, "graphite-pickle", "Graphite Carbon pickle receiver", Metrics, MAJOR, PLAIN),
    wk(2019, Tcp, "caddy-admin", "Caddy admin API", Admin, MAJOR, PLAIN),
    wk(2049, Both, "nfs", "Network File System", FileSharing, MAJOR, PLAIN),
    wk(2055, Udp, "netflow", "NetFlow collector (de-facto)", Metrics, MINOR, PLAIN),
    wk(2082, Tcp, "cpanel", "cPanel (HTTP)", Admin, MAJOR, PLAIN),
    wk(2083, Tcp, "cpanel-ssl", "cPanel (HTTPS)", Admin, MAJOR, ENCRYPTED),
    wk(2086, Tcp, "whm", "WebHost Manager (HTTP)", Admin, MAJOR, PLAIN),
    wk(2087, Tcp, "whm-ssl", "WebHost Manager (HTTPS)", Admin, MAJOR, ENCRYPTED),
    wk(2123, Udp, "gtp-c", "GPRS Tunnelling Protocol control", Infrastructure, MINOR, PLAIN),
    wk(2152, Udp, "gtp-u", "GPRS Tunnelling Protocol user data", Infrastructure, MINOR, PLAIN),
    wk(2181, Tcp, "zookeeper", "Apache ZooKeeper client port", Infrastructure, MAJOR, PLAIN),
    wk(2222, Tcp, "ssh-alt", "SSH alternate port (de-facto)", RemoteAccess, MAJOR, ENCRYPTED),
    wk(2368, Tcp, "ghost", "Ghost publishing platform", Web, MINOR, PLAIN),
    wk(2375, Tcp, "docker", "Docker Engine API (plain-text)", Admin, MAJOR, PLAIN),
    wk(2376, Tcp, "docker-tls", "Docker Engine API over TLS", Admin, MAJOR, ENCRYPTED),
    wk(2377, Tcp, "docker-swarm", "Docker Swarm cluster management", Infrastructure, MAJOR, ENCRYPTED),
    wk(2379, Tcp, "etcd", "etcd client API", Database, MAJOR, PLAIN),
    wk(2380, Tcp, "etcd-peer", "etcd peer communication", Database, MAJOR, PLAIN),
    wk(2381, Tcp, "etcd-metrics", "etcd metrics / health (kubeadm)", Metrics, MINOR, PLAIN),
    wk(2401, Tcp, "cvspserver", "CVS pserver", Development, MINOR, PLAIN),
    wk(2424, Tcp, "orientdb", "OrientDB binary protocol", Database, MINOR, PLAIN),
    wk(2480, Tcp, "orientdb-http", "OrientDB HTTP / Studio", Database, MINOR, PLAIN),
    wk(2525, Tcp, "smtp-alt", "SMTP alternate port (de-facto)", Mail, MINOR, PLAIN),
    wk(2601, Tcp, "zebra", "Quagga / FRR zebra vty", Infrastructure, MINOR, PLAIN),
    wk(2605, Tcp, "bgpd", "Quagga / FRR bgpd vty", Infrastructure, MINOR, PLAIN),
    wk(2628, Tcp, "dict", "DICT dictionary server", Other, MINOR, PLAIN),
    wk(2775, Tcp, "smpp", "Short Message Peer-to-Peer", Messaging, MINOR, PLAIN),
    wk(2888, Tcp, "zookeeper-peer", "ZooKeeper follower-to-leader", Infrastructure, MAJOR, PLAIN),
    wk(2947, Tcp, "gpsd", "gpsd GPS daemon", Other, MINOR, PLAIN),
    wk(3000, Tcp, "aerospike", "Aerospike database service", Database, MINOR, PLAIN),
    wk(3000, Tcp, "gitea", "Gitea / Forgejo web", Development, MINOR, PLAIN),
    wk(3000, Tcp, "grafana", "Grafana", Metrics, MAJOR, PLAIN),
    wk(3000, Tcp, "node-dev", "Node.js dev servers (Express, Next.js, Create React App)", Development, MAJOR, PLAIN),
    wk(3000, Tcp, "rails", "Ruby on Rails (Puma) development server", Development, MAJOR, PLAIN),
    wk(3050, Tcp, "firebird", "Firebird / InterBase database", Database, MINOR, PLAIN),
    wk(3100, Tcp, "loki", "Grafana Loki HTTP API", Metrics, MAJOR, PLAIN),
    wk(3128, Tcp, "squid", "Squid HTTP proxy", Web, MAJOR, PLAIN),
    wk(3200, Tcp, "tempo", "Grafana Tempo HTTP API", Metrics, MINOR, PLAIN),
    wk(3260, Tcp, "iscsi", "iSCSI target", FileSharing, MAJOR, PLAIN),
    wk(3268, Tcp, "ldap-gc", "Active Directory Global Catalog", Directory, MAJOR, PLAIN),
    wk(3269, Tcp, "ldap-gc-ssl", "Active Directory Global Catalog over TLS", Directory, MAJOR, ENCRYPTED),
    wk(3283, Both, "ard", "Apple Remote Desktop (net-assistant)", RemoteAccess, MINOR, PLAIN),
    wk(3300, Tcp, "ceph-mon", "Ceph monitor (msgr2)", FileSharing, MAJOR, PLAIN),
    wk(3306, Tcp, "mysql", "MySQL / MariaDB", Database, MAJOR, PLAIN),
    wk(3310, Tcp, "clamav", "ClamAV daemon (clamd)", Other, MINOR, PLAIN),
    wk(3389, Tcp, "rdp", "Remote Desktop Protocol", RemoteAccess, MAJOR, ENCRYPTED),
    wk(3478, Both, "stun", "STUN / TURN", Media, MAJOR, PLAIN),
    wk(3493, Tcp, "nut", "Network UPS Tools", Admin, MINOR, PLAIN),
    wk(3551, Tcp, "apcupsd", "APC UPS daemon", Admin, MINOR, PLAIN),
    wk(3632, Tcp, "distcc", "distcc distributed compiler", Development, MINOR, PLAIN),
    wk(3659, Both, "apple-sasl", "Apple SASL / Open Directory password server", Directory, MINOR, PLAIN),
    wk(3689, Tcp, "daap", "Digital Audio Access Protocol (iTunes)", Media, MINOR, PLAIN),
    wk(3690, Tcp, "svn", "Subversion (svnserve)", Development, MAJOR, PLAIN),
    wk(3702, Udp, "ws-discovery", "Web Services Dynamic Discovery", Infrastructure, MINOR, PLAIN),
    wk(3784, Udp, "bfd", "Bidirectional Forwarding Detection", Infrastructure, MINOR, PLAIN),
    wk(3868, Tcp, "diameter", "Diameter AAA", Directory, MINOR, PLAIN),
    wk(3888, Tcp, "zookeeper-election", "ZooKeeper leader election", Infrastructure, MAJOR, PLAIN),
    wk(4000, Tcp, "jekyll", "Jekyll development server", Development, MINOR, PLAIN),
    wk(4000, Tcp, "nomachine", "NoMachine NX remote desktop", RemoteAccess, MINOR, ENCRYPTED),
    wk(4000, Tcp, "phoenix", "Phoenix (Elixir) development server", Development, MINOR, PLAIN),
    wk(4000, Tcp, "tidb", "TiDB SQL port", Database, MAJOR, PLAIN),
    wk(4040, Tcp, "spark-ui", "Apache Spark application web UI", Admin, MAJOR, PLAIN),
    wk(4045, Both, "lockd", "NFS lock manager (lockd; IANA npp)", FileSharing, MINOR, PLAIN),
    wk(4173, Tcp, "vite-preview", "Vite preview server", Development, MINOR, PLAIN),
    wk(4190, Tcp, "sieve", "ManageSieve mail filter management", Mail, MINOR, PLAIN),
    wk(4200, Tcp, "angular", "Angular CLI development server", Development, MAJOR, PLAIN),
    wk(4222, Tcp, "nats", "NATS client port", Queue, MAJOR, PLAIN),
    wk(4242, Tcp, "opentsdb", "OpenTSDB", Metrics, MINOR, PLAIN),
    wk(4317, Tcp, "otlp-grpc", "OpenTelemetry OTLP/gRPC", Metrics, MAJOR, PLAIN),
    wk(4318, Tcp, "otlp-http", "OpenTelemetry OTLP/HTTP", Metrics, MAJOR, PLAIN),
    wk(4369, Tcp, "epmd", "Erlang Port Mapper Daemon (RabbitMQ, CouchDB)", Infrastructure, MAJOR, PLAIN),
    wk(4444, Tcp, "galera-sst", "Galera state snapshot transfer", Database, MAJOR, PLAIN),
    wk(4444, Tcp, "selenium", "Selenium Grid hub / standalone", Development, MINOR, PLAIN),
    wk(4460, Tcp, "ntske", "NTS key establishment", Infrastructure, MINOR, ENCRYPTED),
    wk(4500, Udp, "ipsec-nat-t", "IPsec NAT traversal", RemoteAccess, MAJOR, ENCRYPTED),
    wk(4505, Tcp, "salt-publish", "SaltStack master publish port", Admin, MAJOR, ENCRYPTED),
    wk(4506, Tcp, "salt-return", "SaltStack master request / return port", Admin, MAJOR, ENCRYPTED),
    wk(4566, Tcp, "localstack", "LocalStack edge port", Development, MINOR, PLAIN),
    wk(4567, Tcp, "galera", "MariaDB / Galera cluster replication", Database, MAJOR, PLAIN),
    wk(4567, Tcp, "sinatra", "Sinatra (Ruby) development server", Development, MINOR, PLAIN),
    wk(4568, Tcp, "galera-ist", "Galera incremental state transfer", Database, MAJOR, PLAIN),
    wk(4646, Tcp, "nomad", "HashiCorp Nomad HTTP API", Infrastructure, MAJOR, PLAIN),
    wk(4647, Tcp, "nomad-rpc", "HashiCorp Nomad RPC", Infrastructure, MAJOR, PLAIN),
    wk(4648, Both, "nomad-serf", "HashiCorp Nomad Serf WAN gossip", Infrastructure, MAJOR, PLAIN),
    wk(4730, Tcp, "gearman", "Gearman job server", Queue, MAJOR, PLAIN),
    wk(4739, Udp, "ipfix", "IP Flow Information Export", Metrics, MINOR, PLAIN),
    wk(4789, Udp, "vxlan", "VXLAN overlay network", Infrastructure, MAJOR, PLAIN),
    wk(4840, Tcp, "opc-ua", "OPC UA industrial automation", Infrastructure, MINOR, PLAIN),
    wk(4848, Tcp, "glassfish-admin", "GlassFish / Payara admin console", Admin, MINOR, PLAIN),
    wk(4873, Tcp, "verdaccio", "Verdaccio npm registry", Development, MINOR, PLAIN),
    wk(4949, Tcp, "munin", "Munin node", Metrics, MAJOR, PLAIN),
    wk(5000, Tcp, "airplay", "macOS AirPlay Receiver", Media, MINOR, PLAIN),
    wk(5000, Tcp, "docker-registry", "Docker Registry HTTP API", Development, MAJOR, PLAIN),
    wk(5000, Tcp, "flask", "Flask development server", Development, MAJOR, PLAIN),
    wk(5000, Tcp, "upnp", "UPnP device control (de-facto)", Infrastructure, MINOR, PLAIN),
    wk(5001, Tcp, "iperf2", "iperf2 network benchmark", Development, MINOR, PLAIN),
    wk(5004, Udp, "rtp", "RTP media data (avt-profile-1)", Media, MINOR, PLAIN),
    wk(5005, Tcp, "jdwp", "Java debugger (JDWP, de-facto)", Development, MINOR, PLAIN),
    wk(5037, Tcp, "adb", "Android Debug Bridge server", Development, MAJOR, PLAIN),
    wk(5044, Tcp, "beats", "Logstash Beats input", Metrics, MAJOR, PLAIN),
    wk(5050, Tcp, "gitlab-registry", "GitLab container registry", Development, MINOR, PLAIN),
    wk(5050, Tcp, "pgadmin", "pgAdmin 4 server mode", Admin, MAJOR, PLAIN),
    wk(5060, Both, "sip", "Session Initiation Protocol", Media, MAJOR, PLAIN),
    wk(5061, Tcp, "sips", "SIP over TLS", Media, MAJOR, ENCRYPTED),
    wk(5173, Tcp, "vite", "Vite development server", Development, MAJOR, PLAIN),
    wk(5201, Tcp, "iperf3", "iperf3 network benchmark", Development, MINOR, PLAIN),
    wk(5222, Tcp, "xmpp-client", "XMPP client connections", Messaging, MAJOR, PLAIN),
    wk(5269, Tcp, "xmpp-server", "XMPP server-to-server", Messaging, MAJOR, PLAIN),
    wk(5280, Tcp, "xmpp-bosh", "XMPP over HTTP (BOSH)", Messaging, MINOR, PLAIN),
    wk(5349, Both, "turns", "STUN / TURN over TLS", Media, MINOR, ENCRYPTED),
    wk(5353, Udp, "mdns", "Multicast DNS (Bonjour / Avahi)", Infrastructure, MAJOR, PLAIN),
    wk(5355, Udp, "llmnr", "Link-Local Multicast Name Resolution", Infrastructure, MAJOR, PLAIN),
    wk(5357, Tcp, "wsdapi", "Web Services for Devices (WSDAPI)", Infrastructure, MINOR, PLAIN),
    wk(5432, Tcp, "postgres", "PostgreSQL database", Database, MAJOR, PLAIN),
    wk(5433, Tcp, "yugabyte-ysql", "YugabyteDB YSQL", Database, MINOR, PLAIN),
    wk(5473, Tcp, "calico-typha", "Calico Typha", Infrastructure, MINOR, PLAIN),
    wk(5480, Tcp, "vami", "VMware appliance management (VAMI)", Admin, MINOR, ENCRYPTED),
    wk(5552, Tcp, "rabbitmq-stream", "RabbitMQ Streams", Queue, MINOR, PLAIN),
    wk(5555, Tcp, "adb-tcpip", "Android Debug Bridge over TCP/IP", Development, MINOR, PLAIN),
    wk(5555, Tcp, "flower", "Celery Flower monitoring UI", Admin, MAJOR, PLAIN),
    wk(5601, Tcp, "kibana", "Kibana", Metrics, MAJOR, PLAIN),
    wk(5601, Tcp, "opensearch-dashboards", "OpenSearch Dashboards", Metrics, MAJOR, PLAIN),
    wk(5666, Tcp, "nrpe", "Nagios Remote Plugin Executor", Metrics, MAJOR, PLAIN),
    wk(5667, Tcp, "nsca", "Nagios Service Check Acceptor", Metrics, MINOR, PLAIN),
    wk(5671, Tcp, "amqps", "AMQP over TLS", Queue, MAJOR, ENCRYPTED),
    wk(5672, Tcp, "amqp", "AMQP (RabbitMQ, Qpid, ActiveMQ)", Queue, MAJOR, PLAIN),
    wk(5678, Tcp, "n8n", "n8n workflow automation", Development, MINOR, PLAIN),
    wk(5683, Udp, "coap", "Constrained Application Protocol", Messaging, MINOR, PLAIN),
    wk(5684, Udp, "coaps", "CoAP over DTLS", Messaging, MINOR, ENCRYPTED),
    wk(5701, Tcp, "hazelcast", "Hazelcast member", Cache, MAJOR, PLAIN),
    wk(5778, Tcp, "jaeger-agent-config", "Jaeger agent sampling config", Metrics, MINOR, PLAIN),
    wk(5800, Tcp, "vnc-http", "VNC over HTTP (Java viewer)", RemoteAccess, MINOR, PLAIN),
    wk(5900, Tcp, "vnc", "Virtual Network Computing (RFB)", RemoteAccess, MAJOR, PLAIN),
    wk(5901, Tcp, "vnc-1", "VNC display :1", RemoteAccess, MAJOR, PLAIN),
    wk(5938, Tcp, "teamviewer", "TeamViewer", RemoteAccess, MINOR, ENCRYPTED),
    wk(5984, Tcp, "couchdb", "Apache CouchDB", Database, MAJOR, PLAIN),
    wk(5985, Tcp, "winrm", "Windows Remote Management (HTTP)", RemoteAccess, MAJOR, PLAIN),
    wk(5986, Tcp, "winrm-https", "Windows Remote Management (HTTPS)", RemoteAccess, MAJOR, ENCRYPTED),
    wk(6000, Tcp, "x11", "X Window System display :0", RemoteAccess, MAJOR, PLAIN),
    wk(6006, Tcp, "storybook", "Storybook development server", Development, MAJOR, PLAIN),
    wk(6006, Tcp, "tensorboard", "TensorBoard", Development, MAJOR, PLAIN),
    wk(6032, Tcp, "proxysql-admin", "ProxySQL admin interface", Admin, MAJOR, PLAIN),
    wk(6033, Tcp, "proxysql", "ProxySQL MySQL frontend", Database, MAJOR, PLAIN),
    wk(6080, Tcp, "novnc", "noVNC websockify proxy", RemoteAccess, MINOR, PLAIN),
    wk(6081, Udp, "geneve", "Geneve overlay (OVN, Cilium)", Infrastructure, MAJOR, PLAIN),
    wk(6081, Tcp, "varnish", "Varnish HTTP cache", Cache, MAJOR, PLAIN),
    wk(6082, Tcp, "varnish-admin", "Varnish management CLI", Admin, MINOR, PLAIN),
    wk(6123, Tcp, "flink-rpc", "Apache Flink JobManager RPC", Infrastructure, MINOR, PLAIN),
    wk(6222, Tcp, "nats-cluster", "NATS cluster routes", Queue, MAJOR, PLAIN),
    wk(6333, Tcp, "qdrant", "Qdrant vector database HTTP API", Database, MINOR, PLAIN),
    wk(6343, Udp, "sflow", "sFlow collector", Metrics, MINOR, PLAIN),
    wk(6379, Tcp, "redis", "Redis", Cache, MAJOR, PLAIN),
    wk(6432, Tcp, "pgbouncer", "PgBouncer PostgreSQL connection pooler", Database, MAJOR, PLAIN),
    wk(6443, Tcp, "kube-apiserver", "Kubernetes API server", Infrastructure, MAJOR, ENCRYPTED),
    wk(6514, Tcp, "syslog-tls", "Syslog over TLS", Infrastructure, MINOR, ENCRYPTED),
    wk(6566, Tcp, "sane", "SANE scanner daemon (saned)", Other, MINOR, PLAIN),
    wk(6600, Tcp, "mpd", "Music Player Daemon", Media, MINOR, PLAIN),
    wk(6650, Tcp, "pulsar", "Apache Pulsar broker", Queue, MAJOR, PLAIN),
    wk(6651, Tcp, "pulsar-tls", "Apache Pulsar broker over TLS", Queue, MAJOR, ENCRYPTED),
    wk(6665, Tcp, "irc-6665", "IRC (alternate port)", Messaging, MINOR, PLAIN),
    wk(6666, Tcp, "irc-6666", "IRC (alternate port)", Messaging, MINOR, PLAIN),
    wk(6667, Tcp, "irc", "Internet Relay Chat", Messaging, MINOR, PLAIN),
    wk(6668, Tcp, "irc-6668", "IRC (alternate port)", Messaging, MINOR, PLAIN),
    wk(6669, Tcp, "irc-6669", "IRC (alternate port)", Messaging, MINOR, PLAIN),
    wk(6679, Tcp, "osaut", "Osorno Automation (also IRC over TLS alternate)", Messaging, MINOR, PLAIN),
    wk(6697, Tcp, "ircs", "IRC over TLS", Messaging, MINOR, ENCRYPTED),
    wk(6783, Tcp, "weave", "Weave Net control", Infrastructure, MINOR, PLAIN),
    wk(6789, Tcp, "ceph-mon-v1", "Ceph monitor (legacy msgr1)", FileSharing, MAJOR, PLAIN),
    wk(6831, Udp, "jaeger-thrift-compact", "Jaeger agent (Thrift compact)", Metrics, MAJOR, PLAIN),
    wk(6832, Udp, "jaeger-thrift-binary", "Jaeger agent (Thrift binary)", Metrics, MINOR, PLAIN),
    wk(6881, Both, "bittorrent", "BitTorrent (de-facto)", FileSharing, MINOR, PLAIN),
    wk(7000, Tcp, "airplay-7000", "macOS AirPlay Receiver (control)", Media, MINOR, PLAIN),
    wk(7000, Tcp, "cassandra-gossip", "Apache Cassandra inter-node", Database, MAJOR, PLAIN),
    wk(7001, Tcp, "cassandra-gossip-tls", "Apache Cassandra inter-node over TLS", Database, MAJOR, ENCRYPTED),
    wk(7001, Tcp, "weblogic", "Oracle WebLogic Server", Web, MINOR, PLAIN),
    wk(7070, Tcp, "anydesk", "AnyDesk direct connections", RemoteAccess, MINOR, ENCRYPTED),
    wk(7077, Tcp, "spark-master", "Apache Spark standalone master", Infrastructure, MAJOR, PLAIN),
    wk(7199, Tcp, "cassandra-jmx", "Apache Cassandra JMX", Admin, MAJOR, PLAIN),
    wk(7233, Tcp, "temporal", "Temporal frontend (gRPC)", Queue, MAJOR, PLAIN),
    wk(7373, Tcp, "serf", "HashiCorp Serf RPC", Infrastructure, MINOR, PLAIN),
    wk(7473, Tcp, "neo4j-https", "Neo4j HTTPS", Database, MAJOR, ENCRYPTED),
    wk(7474, Tcp, "neo4j", "Neo4j HTTP / Browser", Database, MAJOR, PLAIN),
    wk(7547, Tcp, "cwmp", "TR-069 CPE WAN Management Protocol", Admin, MINOR, PLAIN),
    wk(7687, Tcp, "neo4j-bolt", "Neo4j Bolt protocol", Database, MAJOR, PLAIN),
    wk(7700, Tcp, "meilisearch", "Meilisearch", Database, MINOR, PLAIN),
    wk(7860, Tcp, "gradio", "Gradio app server", Development, MINOR, PLAIN),
    wk(7946, Both, "swarm-gossip", "Docker Swarm / memberlist node gossip", Infrastructure, MAJOR, PLAIN),
    wk(7990, Tcp, "bitbucket", "Bitbucket Data Center", Development, MINOR, PLAIN),
    wk(8000, Tcp, "django", "Django development server", Development, MAJOR, PLAIN),
    wk(8000, Tcp, "kong", "Kong gateway proxy", Web, MAJOR, PLAIN),
    wk(8000, Tcp, "python-http-server", "Python http.server", Development, MAJOR, PLAIN),
    wk(8000, Tcp, "splunk-web", "Splunk Web", Metrics, MAJOR, PLAIN),
    wk(8001, Tcp, "kong-admin", "Kong admin API", Admin, MAJOR, PLAIN),
    wk(8001, Tcp, "kubectl-proxy", "kubectl proxy", Development, MAJOR, PLAIN),
    wk(8005, Tcp, "tomcat-shutdown", "Apache Tomcat shutdown port", Admin, MAJOR, PLAIN),
    wk(8006, Tcp, "proxmox", "Proxmox VE web UI", Admin, MAJOR, ENCRYPTED),
    wk(8007, Tcp, "proxmox-backup", "Proxmox Backup Server", Admin, MINOR, ENCRYPTED),
    wk(8008, Tcp, "http-alt-8008", "HTTP alternate (IANA http-alt)", Web, MAJOR, PLAIN),
    wk(8008, Tcp, "matrix-synapse", "Matrix Synapse client / federation listener", Messaging, MINOR, PLAIN),
    wk(8009, Tcp, "ajp", "Apache JServ Protocol (Tomcat AJP)", Web, MAJOR, PLAIN),
    wk(8020, Tcp, "hdfs-namenode", "Hadoop HDFS NameNode RPC", FileSharing, MAJOR, PLAIN),
    wk(8025, Tcp, "mailhog", "MailHog / Mailpit web UI", Development, MAJOR, PLAIN),
    wk(8042, Tcp, "yarn-nodemanager", "Hadoop YARN NodeManager web UI", Admin, MINOR, PLAIN),
    wk(8065, Tcp, "mattermost", "Mattermost", Messaging, MINOR, PLAIN),
    wk(8069, Tcp, "odoo", "Odoo HTTP", Web, MAJOR, PLAIN),
    wk(8072, Tcp, "odoo-longpolling", "Odoo longpolling / websocket (gevent)", Web, MAJOR, PLAIN),
    wk(8080, Tcp, "adminer", "Adminer database UI (container port)", Admin, MINOR, PLAIN),
    wk(8080, Tcp, "http-alt", "HTTP alternate / proxy (http-alt)", Web, MAJOR, PLAIN),
    wk(8080, Tcp, "jenkins", "Jenkins", Development, MAJOR, PLAIN),
    wk(8080, Tcp, "keycloak", "Keycloak", Directory, MAJOR, PLAIN),
    wk(8080, Tcp, "phpmyadmin", "phpMyAdmin (commonly published on 8080)", Admin, MINOR, PLAIN),
    wk(8080, Tcp, "tomcat", "Apache Tomcat HTTP connector", Web, MAJOR, PLAIN),
    wk(8080, Tcp, "traefik-dashboard", "Traefik API / dashboard", Admin, MAJOR, PLAIN),
    wk(8080, Tcp, "webpack-dev-server", "webpack-dev-server", Development, MAJOR, PLAIN),
    wk(8081, Tcp, "flink", "Apache Flink web UI", Admin, MINOR, PLAIN),
    wk(8081, Tcp, "metro", "React Native Metro bundler", Development, MINOR, PLAIN),
    wk(8081, Tcp, "nexus", "Sonatype Nexus Repository", Development, MAJOR, PLAIN),
    wk(8081, Tcp, "schema-registry", "Confluent Schema Registry", Queue, MAJOR, PLAIN),
    wk(8082, Tcp, "kafka-rest", "Confluent REST Proxy", Queue, MINOR, PLAIN),
    wk(8083, Tcp, "kafka-connect", "Kafka Connect REST API", Queue, MAJOR, PLAIN),
    wk(8086, Tcp, "influxdb", "InfluxDB HTTP API", Database, MAJOR, PLAIN),
    wk(8088, Tcp, "ksqldb", "ksqlDB server", Queue, MAJOR, PLAIN),
    wk(8088, Tcp, "splunk-hec", "Splunk HTTP Event Collector", Metrics, MAJOR, ENCRYPTED),
    wk(8088, Tcp, "yarn-resourcemanager", "Hadoop YARN ResourceManager web UI", Admin, MAJOR, PLAIN),
    wk(8089, Tcp, "locust", "Locust load-testing web UI", Development, MINOR, PLAIN),
    wk(8089, Tcp, "splunkd", "Splunk management port (splunkd)", Admin, MAJOR, ENCRYPTED),
    wk(8090, Tcp, "confluence", "Atlassian Confluence", Web, MINOR, PLAIN),
    wk(8091, Tcp, "couchbase", "Couchbase Web Console / REST", Database, MAJOR, PLAIN),
    wk(8096, Tcp, "jellyfin", "Jellyfin media server", Media, MINOR, PLAIN),
    wk(8108, Tcp, "typesense", "Typesense search", Database, MINOR, PLAIN),
    wk(8111, Tcp, "teamcity", "JetBrains TeamCity", Development, MINOR, PLAIN),
    wk(8118, Tcp, "privoxy", "Privoxy filtering proxy", Web, MINOR, PLAIN),
    wk(8123, Tcp, "clickhouse-http", "ClickHouse HTTP interface", Database, MAJOR, PLAIN),
    wk(8123, Tcp, "home-assistant", "Home Assistant", Other, MINOR, PLAIN),
    wk(8125, Udp, "statsd", "StatsD / DogStatsD metrics", Metrics, MAJOR, PLAIN),
    wk(8126, Tcp, "datadog-apm", "Datadog APM trace intake", Metrics, MAJOR, PLAIN),
    wk(8140, Tcp, "puppet", "Puppet server", Admin, MAJOR, ENCRYPTED),
    wk(8161, Tcp, "activemq-console", "Apache ActiveMQ web console", Admin, MAJOR, PLAIN),
    wk(8182, Tcp, "gremlin", "Apache TinkerPop Gremlin Server", Database, MINOR, PLAIN),
    wk(8200, Tcp, "vault", "HashiCorp Vault API", Admin, MAJOR, PLAIN),
    wk(8201, Tcp, "vault-cluster", "HashiCorp Vault cluster (server-to-server)", Admin, MAJOR, ENCRYPTED),
    wk(8222, Tcp, "nats-monitoring", "NATS HTTP monitoring", Metrics, MAJOR, PLAIN),
    wk(8300, Tcp, "consul-server-rpc", "Consul server RPC", Infrastructure, MAJOR, PLAIN),
    wk(8301, Both, "consul-serf-lan", "Consul Serf LAN gossip", Infrastructure, MAJOR, PLAIN),
    wk(8302, Both, "consul-serf-wan", "Consul Serf WAN gossip", Infrastructure, MAJOR, PLAIN),
    wk(8333, Tcp, "bitcoin", "Bitcoin peer-to-peer", Other, MINOR, PLAIN),
    wk(8384, Tcp, "syncthing-ui", "Syncthing web GUI", Admin, MINOR, PLAIN),
    wk(8404, Tcp, "haproxy-stats", "HAProxy stats page (de-facto)", Admin, MAJOR, PLAIN),
    wk(8428, Tcp, "victoriametrics", "VictoriaMetrics", Metrics, MAJOR, PLAIN),
    wk(8443, Tcp, "https-alt", "HTTPS alternate (Tomcat, dashboards, proxies)", Web, MAJOR, ENCRYPTED),
    wk(8448, Tcp, "matrix-federation", "Matrix homeserver federation", Messaging, MINOR, ENCRYPTED),
    wk(8472, Udp, "flannel-vxlan", "Flannel VXLAN backend (Linux VXLAN default)", Infrastructure, MAJOR, PLAIN),
    wk(8500, Tcp, "consul", "Consul HTTP API and UI", Infrastructure, MAJOR, PLAIN),
    wk(8501, Tcp, "consul-https", "Consul HTTPS API", Infrastructure, MAJOR, ENCRYPTED),
    wk(8501, Tcp, "streamlit", "Streamlit app server", Development, MINOR, PLAIN),
    wk(8502, Tcp, "consul-grpc", "Consul gRPC (xDS)", Infrastructure, MAJOR, PLAIN),
    wk(8529, Tcp, "arangodb", "ArangoDB", Database, MINOR, PLAIN),
    wk(8545, Tcp, "ethereum-rpc", "Ethereum JSON-RPC (geth)", Other, MINOR, PLAIN),
    wk(8554, Tcp, "rtsp-alt", "RTSP alternate (MediaMTX)", Media, MINOR, PLAIN),
    wk(8600, Both, "consul-dns", "Consul DNS interface", Infrastructure, MAJOR, PLAIN),
    wk(8649, Tcp, "ganglia", "Ganglia gmond", Metrics, MINOR, PLAIN),
    wk(8761, Tcp, "eureka", "Netflix Eureka service registry", Infrastructure, MINOR, PLAIN),
    wk(8787, Tcp, "rstudio", "RStudio Server", Development, MINOR, PLAIN),
    wk(8834, Tcp, "nessus", "Nessus web UI", Admin, MINOR, ENCRYPTED),
    wk(8883, Tcp, "mqtts", "MQTT over TLS", Messaging, MAJOR, ENCRYPTED),
    wk(8888, Tcp, "http-alt-8888", "HTTP alternate (de-facto)", Web, MINOR, PLAIN),
    wk(8888, Tcp, "jupyter", "Jupyter Notebook / JupyterLab", Development, MAJOR, PLAIN),
    wk(8889, Tcp, "chef-zero", "Chef Zero in-memory Chef server", Admin, MINOR, PLAIN),
    wk(8983, Tcp, "solr", "Apache Solr", Database, MAJOR, PLAIN),
    wk(9000, Tcp, "clickhouse-native", "ClickHouse native TCP protocol", Database, MAJOR, PLAIN),
    wk(9000, Tcp, "minio", "MinIO S3 API", FileSharing, MAJOR, PLAIN),
    wk(9000, Tcp, "php-fpm", "PHP-FPM FastCGI", Web, MAJOR, PLAIN),
    wk(9000, Tcp, "portainer-http", "Portainer (HTTP, legacy)", Admin, MAJOR, PLAIN),
    wk(9000, Tcp, "sonarqube", "SonarQube", Development, MAJOR, PLAIN),
    wk(9001, Tcp, "minio-console", "MinIO console", Admin, MAJOR, PLAIN),
    wk(9001, Tcp, "supervisord", "supervisord HTTP interface", Admin, MINOR, PLAIN),
    wk(9003, Tcp, "xdebug", "Xdebug 3 debugger", Development, MAJOR, PLAIN),
    wk(9009, Tcp, "clickhouse-interserver", "ClickHouse inter-server replication", Database, MINOR, PLAIN),
    wk(9021, Tcp, "confluent-control-center", "Confluent Control Center", Admin, MINOR, PLAIN),
    wk(9042, Tcp, "cassandra", "Apache Cassandra CQL native transport", Database, MAJOR, PLAIN),
    wk(9050, Tcp, "tor-socks", "Tor SOCKS proxy", Infrastructure, MINOR, PLAIN),
    wk(9090, Tcp, "cockpit", "Cockpit web console", Admin, MINOR, ENCRYPTED),
    wk(9090, Tcp, "prometheus", "Prometheus server", Metrics, MAJOR, PLAIN),
    wk(9091, Tcp, "pushgateway", "Prometheus Pushgateway", Metrics, MAJOR, PLAIN),
    wk(9092, Tcp, "kafka", "Apache Kafka broker", Queue, MAJOR, PLAIN),
    wk(9093, Tcp, "alertmanager", "Prometheus Alertmanager", Metrics, MAJOR, PLAIN),
    wk(9094, Both, "alertmanager-cluster", "Alertmanager cluster gossip", Metrics, MINOR, PLAIN),
    wk(9095, Tcp, "loki-grpc", "Grafana Loki gRPC", Metrics, MINOR, PLAIN),
    wk(9100, Tcp, "jetdirect", "HP JetDirect raw printing", Other, MINOR, PLAIN),
    wk(9100, Tcp, "node-exporter", "Prometheus node exporter", Metrics, MAJOR, PLAIN),
    wk(9101, Tcp, "bacula-dir", "Bacula director", FileSharing, MINOR, PLAIN),
    wk(9101, Tcp, "haproxy-exporter", "Prometheus HAProxy exporter", Metrics, MINOR, PLAIN),
    wk(9102, Tcp, "bacula-fd", "Bacula file daemon", FileSharing, MINOR, PLAIN),
    wk(9102, Tcp, "statsd-exporter", "Prometheus StatsD exporter", Metrics, MINOR, PLAIN),
    wk(9103, Tcp, "bacula-sd", "Bacula storage daemon", FileSharing, MINOR, PLAIN),
    wk(9104, Tcp, "mysqld-exporter", "Prometheus MySQL exporter", Metrics, MAJOR, PLAIN),
    wk(9107, Tcp, "consul-exporter", "Prometheus Consul exporter", Metrics, MINOR, PLAIN),
    wk(9108, Tcp, "graphite-exporter", "Prometheus Graphite exporter", Metrics, MINOR, PLAIN),
    wk(9113, Tcp, "nginx-exporter", "Prometheus NGINX exporter", Metrics, MAJOR, PLAIN),
    wk(9114, Tcp, "elasticsearch-exporter", "Prometheus Elasticsearch exporter", Metrics, MINOR, PLAIN),
    wk(9115, Tcp, "blackbox-exporter", "Prometheus blackbox exporter", Metrics, MAJOR, PLAIN),
    wk(9116, Tcp, "snmp-exporter", "Prometheus SNMP exporter", Metrics, MINOR, PLAIN),
    wk(9117, Tcp, "apache-exporter", "Prometheus Apache exporter", Metrics, MINOR, PLAIN),
    wk(9121, Tcp, "redis-exporter", "Prometheus Redis exporter", Metrics, MAJOR, PLAIN),
    wk(9150, Tcp, "memcached-exporter", "Prometheus Memcached exporter", Metrics, MINOR, PLAIN),
    wk(9153, Tcp, "coredns-metrics", "CoreDNS Prometheus metrics", Metrics, MAJOR, PLAIN),
    wk(9160, Tcp, "cassandra-thrift", "Apache Cassandra Thrift (legacy)", Database, MINOR, PLAIN),
    wk(9182, Tcp, "windows-exporter", "Prometheus Windows exporter", Metrics, MAJOR, PLAIN),
    wk(9187, Tcp, "postgres-exporter", "Prometheus PostgreSQL exporter", Metrics, MAJOR, PLAIN),
    wk(9200, Tcp, "elasticsearch", "Elasticsearch / OpenSearch HTTP API", Database, MAJOR, PLAIN),
    wk(9216, Tcp, "mongodb-exporter", "Prometheus MongoDB exporter", Metrics, MINOR, PLAIN),
    wk(9229, Tcp, "node-inspector", "Node.js inspector (--inspect)", Development, MAJOR, PLAIN),
    wk(9300, Tcp, "elasticsearch-transport", "Elasticsearch transport (node-to-node)", Database, MAJOR, PLAIN),
    wk(9308, Tcp, "kafka-exporter", "Prometheus Kafka exporter", Metrics, MINOR, PLAIN),
    wk(9411, Tcp, "zipkin", "Zipkin collector and UI", Metrics, MAJOR, PLAIN),
    wk(9418, Tcp, "git", "Git daemon protocol", Development, MAJOR, PLAIN),
    wk(9419, Tcp, "rabbitmq-exporter", "Prometheus RabbitMQ exporter", Metrics, MINOR, PLAIN),
    wk(9440, Tcp, "clickhouse-native-tls", "ClickHouse native protocol over TLS", Database, MINOR, ENCRYPTED),
    wk(9443, Tcp, "portainer", "Portainer (HTTPS)", Admin, MAJOR, ENCRYPTED),
    wk(9600, Tcp, "logstash-api", "Logstash monitoring API", Metrics, MINOR, PLAIN),
    wk(9864, Tcp, "hdfs-datanode-ui", "Hadoop HDFS DataNode web UI", Admin, MINOR, PLAIN),
    wk(9866, Tcp, "hdfs-datanode", "Hadoop HDFS DataNode data transfer", FileSharing, MINOR, PLAIN),
    wk(9870, Tcp, "hdfs-namenode-ui", "Hadoop HDFS NameNode web UI", Admin, MAJOR, PLAIN),
    wk(9876, Tcp, "karma", "Karma test runner", Development, MINOR, PLAIN),
    wk(9901, Tcp, "envoy-admin", "Envoy admin interface (de-facto)", Admin, MAJOR, PLAIN),
    wk(9987, Udp, "teamspeak", "TeamSpeak 3 voice", Media, MINOR, PLAIN),
    wk(9990, Tcp, "wildfly-admin", "WildFly / JBoss management console", Admin, MINOR, PLAIN),
    wk(9997, Tcp, "splunk-forwarder", "Splunk forwarder receiving port", Metrics, MAJOR, PLAIN),
    wk(10000, Udp, "jitsi-jvb", "Jitsi Videobridge media", Media, MINOR, ENCRYPTED),
    wk(10000, Tcp, "webmin", "Webmin", Admin, MAJOR, ENCRYPTED),
    wk(10024, Tcp, "amavis", "amavisd-new content filter", Mail, MINOR, PLAIN),
    wk(10050, Tcp, "zabbix-agent", "Zabbix agent", Metrics, MAJOR, PLAIN),
    wk(10051, Tcp, "zabbix-server", "Zabbix server (trapper)", Metrics, MAJOR, PLAIN),
    wk(10080, Tcp, "amanda", "Amanda backup", FileSharing, MINOR, PLAIN),
    wk(10249, Tcp, "kube-proxy-metrics", "kube-proxy metrics", Metrics, MAJOR, PLAIN),
    wk(10250, Tcp, "kubelet", "Kubernetes kubelet API", Infrastructure, MAJOR, ENCRYPTED),
    wk(10255, Tcp, "kubelet-readonly", "Kubelet read-only API (deprecated)", Infrastructure, MINOR, PLAIN),
    wk(10256, Tcp, "kube-proxy-health", "kube-proxy health check", Infrastructure, MAJOR, PLAIN),
    wk(10257, Tcp, "kube-controller-manager", "Kubernetes controller manager", Infrastructure, MAJOR, ENCRYPTED),
    wk(10259, Tcp, "kube-scheduler", "Kubernetes scheduler", Infrastructure, MAJOR, ENCRYPTED),
    wk(10800, Tcp, "ignite-thin", "Apache Ignite thin client", Database, MINOR, PLAIN),
    wk(10809, Tcp, "nbd", "Network Block Device", FileSharing, MINOR, PLAIN),
    wk(11112, Tcp, "dicom", "DICOM medical imaging", Other, MINOR, PLAIN),
    wk(11210, Tcp, "couchbase-data", "Couchbase data service", Database, MAJOR, PLAIN),
    wk(11211, Tcp, "memcached", "Memcached", Cache, MAJOR, PLAIN),
    wk(11300, Tcp, "beanstalkd", "Beanstalkd work queue", Queue, MAJOR, PLAIN),
    wk(11334, Tcp, "rspamd-controller", "Rspamd controller web UI", Mail, MINOR, PLAIN),
    wk(11371, Tcp, "hkp", "OpenPGP HTTP keyserver", Directory, MINOR, PLAIN),
    wk(11434, Tcp, "ollama", "Ollama LLM API", Development, MAJOR, PLAIN),
    wk(12201, Udp, "gelf", "Graylog GELF input", Metrics, MINOR, PLAIN),
    wk(13133, Tcp, "otel-collector-health", "OpenTelemetry Collector health check", Metrics, MINOR, PLAIN),
    wk(14250, Tcp, "jaeger-grpc", "Jaeger collector gRPC", Metrics, MAJOR, PLAIN),
    wk(14268, Tcp, "jaeger-collector", "Jaeger collector HTTP (Thrift)", Metrics, MAJOR, PLAIN),
    wk(15000, Tcp, "istio-envoy-admin", "Istio sidecar Envoy admin", Infrastructure, MAJOR, PLAIN),
    wk(15001, Tcp, "istio-outbound", "Istio sidecar outbound capture", Infrastructure, MAJOR, PLAIN),
    wk(15006, Tcp, "istio-inbound", "Istio sidecar inbound capture", Infrastructure, MAJOR, PLAIN),
    wk(15010, Tcp, "istiod-grpc", "istiod xDS (plain-text)", Infrastructure, MINOR, PLAIN),
    wk(15012, Tcp, "istiod-grpc-tls", "istiod xDS and CA (mTLS)", Infrastructure, MINOR, ENCRYPTED),
    wk(15014, Tcp, "istiod-monitoring", "istiod control-plane monitoring", Metrics, MINOR, PLAIN),
    wk(15017, Tcp, "istiod-webhook", "istiod webhook", Infrastructure, MINOR, ENCRYPTED),
    wk(15021, Tcp, "istio-health", "Istio sidecar health check", Infrastructure, MAJOR, PLAIN),
    wk(15090, Tcp, "istio-envoy-prometheus", "Istio sidecar Envoy Prometheus metrics", Metrics, MAJOR, PLAIN),
    wk(15672, Tcp, "rabbitmq-management", "RabbitMQ management UI / HTTP API", Admin, MAJOR, PLAIN),
    wk(15692, Tcp, "rabbitmq-prometheus", "RabbitMQ Prometheus metrics", Metrics, MAJOR, PLAIN),
    wk(16010, Tcp, "hbase-master-ui", "Apache HBase Master web UI", Admin, MINOR, PLAIN),
    wk(16379, Tcp, "redis-cluster-bus", "Redis Cluster bus", Cache, MAJOR, PLAIN),
    wk(16686, Tcp, "jaeger", "Jaeger query UI", Metrics, MAJOR, PLAIN),
    wk(17500, Both, "dropbox-lan", "Dropbox LAN sync", FileSharing, MINOR, PLAIN),
    wk(19530, Tcp, "milvus", "Milvus vector database", Database, MINOR, PLAIN),
    wk(19999, Tcp, "netdata", "Netdata", Metrics, MAJOR, PLAIN),
    wk(20000, Tcp, "dnp3", "DNP3 SCADA protocol", Infrastructure, MINOR, PLAIN),
    wk(20048, Both, "mountd", "NFS mountd (de-facto fixed port)", FileSharing, MINOR, PLAIN),
    wk(20160, Tcp, "tikv", "TiKV", Database, MINOR, PLAIN),
    wk(22000, Both, "syncthing", "Syncthing sync protocol", FileSharing, MINOR, ENCRYPTED),
    wk(24007, Tcp, "glusterd", "GlusterFS management daemon", FileSharing, MINOR, PLAIN),
    wk(24224, Tcp, "fluentd", "Fluentd forward input", Metrics, MAJOR, PLAIN),
    wk(25565, Tcp, "minecraft", "Minecraft Java Edition server", Other, MINOR, PLAIN),
    wk(25672, Tcp, "rabbitmq-dist", "RabbitMQ inter-node and CLI (Erlang distribution)", Queue, MAJOR, PLAIN),
    wk(25826, Udp, "collectd", "collectd network plugin", Metrics, MAJOR, PLAIN),
    wk(26257, Tcp, "cockroachdb", "CockroachDB SQL and RPC", Database, MAJOR, PLAIN),
    wk(26379, Tcp, "redis-sentinel", "Redis Sentinel", Cache, MAJOR, PLAIN),
    wk(27015, Both, "srcds", "Source engine dedicated server", Other, MINOR, PLAIN),
    wk(27017, Tcp, "mongodb", "MongoDB", Database, MAJOR, PLAIN),
    wk(27018, Tcp, "mongodb-shard", "MongoDB shard server", Database, MAJOR, PLAIN),
    wk(27019, Tcp, "mongodb-config", "MongoDB config server", Database, MAJOR, PLAIN),
    wk(28015, Tcp, "rethinkdb", "RethinkDB client driver", Database, MINOR, PLAIN),
    wk(30000, Tcp, "k8s-nodeport", "Kubernetes NodePort range start (30000-32767)", Infrastructure, MAJOR, PLAIN),
    wk(30303, Both, "ethereum-p2p", "Ethereum devp2p", Other, MINOR, PLAIN),
    wk(32400, Tcp, "plex", "Plex Media Server", Media, MINOR, PLAIN),
    wk(33060, Tcp, "mysqlx", "MySQL X Protocol", Database, MAJOR, PLAIN),
    wk(33061, Tcp, "mysql-group-replication", "MySQL Group Replication", Database, MINOR, PLAIN),
    wk(35729, Tcp, "livereload", "LiveReload", Development, MINOR, PLAIN),
    wk(41641, Udp, "tailscale", "Tailscale WireGuard", RemoteAccess, MINOR, ENCRYPTED),
    wk(44818, Both, "ethernet-ip", "EtherNet/IP (CIP)", Infrastructure, MINOR, PLAIN),
    wk(47808, Udp, "bacnet", "BACnet/IP building automation", Infrastructure, MINOR, PLAIN),
    wk(50000, Tcp, "db2", "IBM Db2", Database, MAJOR, PLAIN),
    wk(50000, Tcp, "jenkins-agent", "Jenkins inbound agent (JNLP)", Development, MAJOR, PLAIN),
    wk(50070, Tcp, "hdfs-namenode-ui-v2", "Hadoop 2 HDFS NameNode web UI", Admin, MINOR, PLAIN),
    wk(51820, Udp, "wireguard", "WireGuard VPN", RemoteAccess, MAJOR, ENCRYPTED),
    wk(60000, Udp, "mosh", "Mosh mobile shell (60000-61000)", RemoteAccess, MINOR, ENCRYPTED),
    wk(61613, Tcp, "stomp", "STOMP (ActiveMQ, RabbitMQ)", Queue, MINOR, PLAIN),
    wk(61616, Tcp, "activemq", "Apache ActiveMQ OpenWire", Queue, MAJOR, PLAIN),
    wk(64738, Both, "mumble", "Mumble voice server", Media, MINOR, ENCRYPTED),
];

/// All entries for `port` (binary search; may be several, e.g. 5000).
pub fn lookup(port: u16) -> &'static [WellKnownPort] {
    in_range(port, port)
}

/// Entries whose port lies in `lo..=hi` (empty when `lo > hi`).
pub fn in_range(lo: u16, hi: u16) -> &'static [WellKnownPort] {
    if lo > hi {
        return &[];
    }
    let start = WELL_KNOWN.partition_point(|entry| entry.port < lo);
    let end = WELL_KNOWN.partition_point(|entry| entry.port <= hi);
    WELL_KNOWN.get(start..end).unwrap_or(&[])
}

/// The first entry with this name (case-insensitive), for resolving
/// `app = "postgres"`.
pub fn by_name(name: &str) -> Option<&'static WellKnownPort> {
    /// Lowercase name → first entry (table order), built once: every binding's `app` is
    /// looked up, and a linear scan of the table cost more than the rest of its checks.
    static INDEX: std::sync::LazyLock<
        std::collections::HashMap<&'static str, &'static WellKnownPort>,
    > = std::sync::LazyLock::new(|| {
        let mut m = std::collections::HashMap::with_capacity(WELL_KNOWN.len());
        for entry in WELL_KNOWN {
            m.entry(entry.name).or_insert(entry);
        }
        m
    });
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        INDEX.get(name.to_ascii_lowercase().as_str()).copied()
    } else {
        INDEX.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_name_index_agrees_with_a_scan_of_the_table() {
        for entry in WELL_KNOWN {
            for name in [entry.name.to_string(), entry.name.to_ascii_uppercase()] {
                let scan = WELL_KNOWN
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(&name));
                assert!(
                    std::ptr::eq(by_name(&name).unwrap(), scan.unwrap()),
                    "{name}"
                );
            }
        }
        assert!(by_name("no-such-software").is_none());
    }

    #[test]
    fn table_is_sorted_by_port_then_name_without_duplicates() {
        for pair in WELL_KNOWN.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                (a.port, a.name) < (b.port, b.name),
                "out of order or duplicate: {}/{} then {}/{}",
                a.port,
                a.name,
                b.port,
                b.name
            );
        }
    }

    #[test]
    fn names_are_unique_lowercase_ids() {
        let mut seen = HashSet::new();
        for entry in WELL_KNOWN {
            assert!(seen.insert(entry.name), "duplicate name {}", entry.name);
            assert!(!entry.name.is_empty());
            assert!(
                entry
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "bad name {:?}",
                entry.name
            );
            assert!(
                !entry.description.is_empty(),
                "{} has no description",
                entry.name
            );
        }
    }

    #[test]
    fn table_is_large_enough() {
        assert!(WELL_KNOWN.len() >= 320, "only {} entries", WELL_KNOWN.len());
    }

    #[test]
    fn postgres_is_a_major_database() {
        let hits = lookup(5432);
        let pg = hits
            .iter()
            .find(|e| e.name == "postgres")
            .expect("5432 names postgres");
        assert!(pg.major);
        assert_eq!(pg.category, PortCategory::Database);
        assert_eq!(pg.transport, KnownTransport::Tcp);
        assert!(!pg.encrypted);
    }

    #[test]
    fn redis_is_found() {
        assert!(lookup(6379).iter().any(|e| e.name == "redis"));
        assert_eq!(lookup(6379)[0].category, PortCategory::Cache);
    }

    #[test]
    fn shared_ports_have_several_entries() {
        let names: Vec<_> = lookup(5000).iter().map(|e| e.name).collect();
        for expected in ["docker-registry", "flask", "upnp"] {
            assert!(
                names.contains(&expected),
                "5000 lacks {expected}: {names:?}"
            );
        }
        let names: Vec<_> = lookup(9000).iter().map(|e| e.name).collect();
        for expected in ["clickhouse-native", "minio", "php-fpm", "sonarqube"] {
            assert!(
                names.contains(&expected),
                "9000 lacks {expected}: {names:?}"
            );
        }
        assert!(lookup(3000).iter().any(|e| e.name == "grafana"));
        assert!(lookup(8080).iter().any(|e| e.name == "http-alt"));
    }

    #[test]
    fn by_name_resolves_case_insensitively() {
        assert_eq!(by_name("prometheus").map(|e| e.port), Some(9090));
        assert_eq!(by_name("PostGres").map(|e| e.port), Some(5432));
        assert_eq!(by_name("ssh").map(|e| e.port), Some(22));
        assert!(by_name("no-such-service").is_none());
    }

    #[test]
    fn range_queries() {
        assert!(in_range(5400, 5499).iter().any(|e| e.name == "postgres"));
        assert!(
            in_range(5400, 5499)
                .iter()
                .all(|e| (5400..=5499).contains(&e.port))
        );
        assert!(in_range(10, 5).is_empty());
        assert_eq!(in_range(0, u16::MAX).len(), WELL_KNOWN.len());
        assert!(lookup(0).is_empty());
        assert!(lookup(u16::MAX).is_empty());
        assert_eq!(lookup(22).len(), 1);
    }

    #[test]
    fn encrypted_flags_are_sensible() {
        for name in [
            "ssh",
            "https",
            "imaps",
            "ldaps",
            "wireguard",
            "openvpn",
            "pop3s",
            "smtps",
        ] {
            assert!(
                by_name(name).is_some_and(|e| e.encrypted),
                "{name} should be encrypted"
            );
        }
        for name in ["http", "telnet", "ftp", "redis", "postgres", "imap", "ldap"] {
            assert!(
                by_name(name).is_some_and(|e| !e.encrypted),
                "{name} should be plain"
            );
        }
    }
}
