#!/bin/bash
# The web page (web_listen). In a real browser (headless Chromium over the
# DevTools protocol, tests/integration/web_browser.py): a login link, the
# start form, the stop button, the admin view and its stop button, with a
# screenshot of each page kept under $BUILD/test-artifacts/web/. With
# curl: every security header; a link used twice, an expired link, a POST
# without the CSRF token, another user's workspace id in the stop form,
# HTML in a workspace name and in a template description, and a cookie
# from before a logout are refused; plain HTTP off loopback stops wsd at
# start-up. The listener under abuse: slowloris, the connection cap per
# address, huge headers. And wsd's memory with the page open. Last, TLS
# (a self-signed certificate) on 0.0.0.0, after a restart that ended
# every session, with password login through PAM (refused over plain
# HTTP, and after 5 failures a minute).
. "$(dirname "$0")/lib.sh"
PORT_BASE=27200
INSTANCE=tweb$$
setup_all
command -v chromium >/dev/null || { echo "missing chromium (Debian's chromium)" >&2; exit 1; }
/usr/bin/python3 -c 'import websocket' 2>/dev/null || { echo "missing python3-websocket" >&2; exit 1; }
A=wslab-wa
B=wslab-wb
for u in $A $B; do make_user $u; done
WPORT=$((PORT_BASE + 191))
W=http://127.0.0.1:$WPORT
ART=$BUILD/test-artifacts/web
rm -rf "$ART"
mkdir -p "$ART"
T=$(mktemp -d /tmp/wslab-it.XXXXXX)

# --- plain HTTP off loopback: refused at start-up, with the reason ---
cat >"$T/bad.conf" <<CONF
socket = $T/bad.sock
state_dir = $T/badstate
home_root = $T/home
web_listen = 0.0.0.0:$WPORT
[template offline]
image = $IMAGE
CONF
out=$(timeout 10 "$WSD" --config "$T/bad.conf" 2>&1)
rc=$?
expect_eq "wsd refuses web_listen = 0.0.0.0 without TLS (exit 1)" "$rc" 1
expect_match "and says why" "$out" "web_listen: 0.0.0.0 is not a loopback address"
expect_eq "and opened no socket" "$(test -S "$T/bad.sock" && echo yes || echo no)" no

# Password login (PAM) for a user with a password, through a service of the test's own.
P=wslab-wp
make_user $P
echo "$P:Web-pass-123" | chpasswd
PAMSVC=wslab-web-test$$
printf 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n' >/etc/pam.d/$PAMSVC
# The service goes and the password is locked again however the test ends.
trap 'rm -f /etc/pam.d/$PAMSVC; usermod -p "!" $P' EXIT

start_wsd "port_max = $((PORT_BASE + 99))
web_listen = 127.0.0.1:$WPORT
web_pam_service = $PAMSVC
web_link_ttl = 4s
request_timeout = 2s
max_connections_per_user = 6" "description = <script>alert(1)</script> for <b>everyone</b>"

# link USER: a fresh login link, as wsctl web prints it.
link() { as "$1" "$WSCTL" web; }
# login USER JAR: log in with curl, keep the cookie in JAR; prints the status of the link.
login() { curl -s -o /dev/null -w '%{http_code}' -c "$2" "$(link "$1")"; }
# csrf JAR: the CSRF token on the page of that session.
csrf() { curl -s -b "$1" "$W/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -n1 | sed 's/.*value="//; s/"//'; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# --- the link ---
l=$(link $A)
expect_match "wsctl web prints a link with 256 random bits" "$l" "^$W/login\\?t=[0-9a-f]{64}\$"
hdr=$(curl -s -D - -o /dev/null "$l")
expect_match "the link logs in: 303 to /" "$(echo "$hdr" | head -n1)" "^HTTP/1.1 303"
cookie=$(echo "$hdr" | grep -i '^set-cookie:' | tr -d '\r')
expect_match "the session cookie is HttpOnly and SameSite=Strict" "$cookie" "wslab_session=[0-9a-f]{64}; Path=/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict"
expect_eq "a second use of the link is refused" "$(code "$l")" 403
l=$(link $A)
sleep 5
expect_eq "an expired link (web_link_ttl) is refused" "$(code "$l")" 403
expect_eq "a made-up link is refused" "$(code "$W/login?t=$(printf '%064d' 0)")" 403
expect_match "another user gets a link of their own (201)" \
	"$(api $B POST /v1/web/link | tail -n1)" "^201$"

# --- security headers, on the login page and on a logged-in page ---
check_headers() {
	local what=$1 h
	shift
	h=$(curl -s -D - -o /dev/null "$@" | tr -d '\r')
	expect_match "$what: Content-Security-Policy with default-src 'self' and frame-ancestors 'none'" \
		"$(echo "$h" | grep -i '^content-security-policy:')" "default-src 'self'.*frame-ancestors 'none'"
	expect_match "$what: X-Frame-Options DENY" "$(echo "$h" | grep -i '^x-frame-options:')" "DENY"
	expect_match "$what: X-Content-Type-Options nosniff" "$(echo "$h" | grep -i '^x-content-type-options:')" "nosniff"
	expect_match "$what: Referrer-Policy no-referrer" "$(echo "$h" | grep -i '^referrer-policy:')" "no-referrer"
	expect_match "$what: Cache-Control no-store" "$(echo "$h" | grep -i '^cache-control:')" "no-store"
	expect_match "$what: text/html" "$(echo "$h" | grep -i '^content-type:')" "text/html; charset=utf-8"
}
check_headers "login page" "$W/"
expect_eq "over plain HTTP the login page has no password form" "$(curl -s "$W/" | grep -c 'login-form')" 0
expect_eq "and a password POST is refused (403), never given to PAM" \
	"$(code -X POST "$W/login" --data-urlencode "user=$P" --data-urlencode "password=Web-pass-123")" 403
expect_eq "a login link's login sets the cookie" "$(login $A "$T/a.jar")" 303
check_headers "logged-in page" -b "$T/a.jar" "$W/"
check_headers "an error page" "$W/nowhere"

# --- the template description and names: escaped, never markup ---
page=$(curl -s -b "$T/a.jar" "$W/")
expect_match "the page shows the student's name" "$page" "<span id=\"user\">$A</span>"
expect_match "a template description with <script> is escaped" "$page" "&lt;script&gt;alert\\(1\\)&lt;/script&gt; for &lt;b&gt;everyone&lt;/b&gt;"
expect_eq "and never written as markup" "$(echo "$page" | grep -c '<script>alert')" 0
CS=$(csrf "$T/a.jar")
out=$(curl -s -w '\n%{http_code}' -b "$T/a.jar" -X POST "$W/start" \
	--data-urlencode "csrf=$CS" --data-urlencode 'name=<b>x</b>' --data-urlencode template=offline)
expect_eq "HTML in a workspace name: refused by the API's validation (400)" "$(echo "$out" | tail -n1)" 400
expect_match "with the API's message, escaped" "$out" "name: &quot;&lt;b&gt;x&lt;/b&gt;&quot; is not a workspace name"
expect_eq "and the name is nowhere as markup" "$(echo "$out" | grep -c '<b>x</b>')" 0

# --- CSRF ---
KEYA=$(getent passwd $A | cut -d: -f6)/.ssh/id_ed25519.pub
api $A POST /v1/workspaces "{\"name\":\"keep\",\"ssh_keys\":[\"$(cat "$KEYA")\"]}" >/dev/null
expect_eq "A's workspace keep is ready" "$(api $A GET /v1/workspaces/keep | head -n1 | json .state)" ready
KID=$(api $A GET /v1/workspaces/keep | head -n1 | json .id)
expect_eq "a stop without the CSRF token is refused" \
	"$(code -b "$T/a.jar" -X POST "$W/stop" --data-urlencode "id=$KID")" 403
expect_eq "a stop with a wrong CSRF token is refused" \
	"$(code -b "$T/a.jar" -X POST "$W/stop" --data-urlencode "id=$KID" --data-urlencode "csrf=$(printf '%064d' 1)")" 403
expect_eq "a start without the CSRF token is refused" \
	"$(code -b "$T/a.jar" -X POST "$W/start" --data-urlencode template=offline)" 403
expect_eq "keep still runs" "$(api $A GET /v1/workspaces/keep | head -n1 | json .state)" ready

# --- another user's workspace id in the stop form ---
expect_eq "B logs in" "$(login $B "$T/b.jar")" 303
BCS=$(csrf "$T/b.jar")
expect_eq "B's stop form with A's workspace id: 404" \
	"$(code -b "$T/b.jar" -X POST "$W/stop" --data-urlencode "csrf=$BCS" --data-urlencode "id=$KID")" 404
expect_eq "B's stop form with A's workspace name: 404" \
	"$(code -b "$T/b.jar" -X POST "$W/stop" --data-urlencode "csrf=$BCS" --data-urlencode "id=keep")" 404
expect_eq "A's csrf token in B's session: refused" \
	"$(code -b "$T/b.jar" -X POST "$W/stop" --data-urlencode "csrf=$CS" --data-urlencode "id=$KID")" 403
expect_eq "B's admin stop form: 403 (B is no admin)" \
	"$(code -b "$T/b.jar" -X POST "$W/admin/stop" --data-urlencode "csrf=$BCS" --data-urlencode "owner=$A" --data-urlencode "id=$KID")" 403
expect_eq "B's admin page: 403" "$(code -b "$T/b.jar" "$W/admin")" 403
expect_eq "nothing was stopped" "$(api $A GET /v1/workspaces/keep | head -n1 | json .state)" ready
expect_eq "B's page does not name A's workspace" "$(curl -s -b "$T/b.jar" "$W/" | grep -c "data-name=\"keep\"")" 0

# --- a cookie from before logout ---
cp "$T/b.jar" "$T/b-old.jar"
expect_eq "B logs out (303)" "$(code -b "$T/b.jar" -X POST "$W/logout" --data-urlencode "csrf=$BCS")" 303
expect_eq "the old cookie cannot post" \
	"$(code -b "$T/b-old.jar" -X POST "$W/stop" --data-urlencode "csrf=$BCS" --data-urlencode "id=x")" 403
expect_eq "nor see the page (the login page instead)" "$(curl -s -b "$T/b-old.jar" "$W/" | grep -c "id=\"user\"")" 0

# --- a start through the form (curl), with the key pasted: the same handler as wsctl start ---
out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$T/a.jar" -X POST "$W/start" \
	--data-urlencode "csrf=$CS" --data-urlencode name=formws --data-urlencode template=offline \
	--data-urlencode "ssh_key=$(cat "$KEYA")")
expect_eq "a start form with a key: 303 back to the page" "$out" "303 $W/"
expect_eq "formws is ready, as the API shows it" "$(api $A GET /v1/workspaces/formws | head -n1 | json .state)" ready
expect_eq "a start form without a key: the API's refusal (400)" \
	"$(code -b "$T/a.jar" -X POST "$W/start" --data-urlencode "csrf=$CS" --data-urlencode name=nokey)" 400
expect_eq "formws stops through the form (303)" \
	"$(code -b "$T/a.jar" -X POST "$W/stop" --data-urlencode "csrf=$CS" --data-urlencode "id=formws")" 303

# --- A stops keep through the form: the same handler as wsctl stop ---
expect_eq "A's stop form stops keep (303)" \
	"$(code -b "$T/a.jar" -X POST "$W/stop" --data-urlencode "csrf=$CS" --data-urlencode "id=keep")" 303
expect_match "keep is gone" "$(api $A GET /v1/workspaces/keep | tail -n1)" "^(404|200)$"

# --- the browser ---
LINKA="runuser -u $A -- env WSCTL_SOCKET=$T/wsd.sock $WSCTL web"
LINKR="env WSCTL_SOCKET=$T/wsd.sock $WSCTL web"
KEYA=$(getent passwd $A | cut -d: -f6)/.ssh/id_ed25519.pub
/usr/bin/python3 "$SRC/tests/integration/web_browser.py" "$W" "$ART" "$LINKA" "$LINKR" "$KEYA" >"$T/browser.out" 2>&1
cat "$T/browser.out"
FAILS=$((FAILS + $(grep -c '^FAIL' "$T/browser.out")))
expect_eq "the browser ran its steps" "$(grep -c '^PASS' "$T/browser.out" | awk '$1 >= 20 {print "yes"}')" yes
n=$(ls "$ART"/*.png 2>/dev/null | wc -l)
expect_match "a screenshot of each page in $ART" "$n" "^[5-9]$"

# --- wsd's memory with the page open (a logged-in page fetched) ---
curl -s -b "$T/a.jar" "$W/" >/dev/null
log "wsd VmRSS with the page open: $(grep VmRSS "/proc/$WSD_PID/status" | awk '{print $2, $3}')"

# --- the listener under abuse ---
/usr/bin/python3 - "$WPORT" >"$T/abuse.out" 2>&1 <<'PY'
import select, socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s
def status(s):
    try:
        d = s.recv(65536)
    except OSError:
        return "reset"
    return d.split(b" ")[1].decode() if d.startswith(b"HTTP/1.1 ") else ("eof" if not d else "junk")
# slowloris: half a request, then nothing; request_timeout (2 s) ends it.
s = conn(); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: ")
t = time.time(); st = status(s); print("slow", st, round(time.time() - t))
# a trickle of header bytes does not move the deadline
s = conn(); t = time.time(); st = None
s.sendall(b"GET / HTTP/1.1\r\n")
for i in range(16):
    if select.select([s], [], [], 0.5)[0]:
        break  # wsd answered
    try:
        s.sendall(b"X-%d: y\r\n" % i)
    except OSError:
        break
print("trickle", status(s), round(time.time() - t))
# huge headers: 431
s = conn(); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
print("huge", status(s))
# a huge cookie is cut, never a crash: the login page
s = conn(); s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: " + b"b=" + b"c" * 12000 + b"\r\n\r\n")
print("cookie", status(s))
# the cap per address: 6 held, the 7th closed at once, a new one once they close
held = [conn() for _ in range(6)]
time.sleep(0.3)
x = conn(); x.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); print("seventh", status(x))
for h in held: h.close()
time.sleep(0.3)
y = conn(); y.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); print("after", status(y))
PY
cat "$T/abuse.out"
expect_match "slowloris: 408 at request_timeout" "$(grep '^slow' "$T/abuse.out")" "^slow 408 2$"
expect_match "a trickle of headers: 408 at request_timeout, not later" "$(grep '^trickle' "$T/abuse.out")" "^trickle 408 2$"
expect_eq "huge headers: 431" "$(grep '^huge' "$T/abuse.out")" "huge 431"
expect_eq "a huge cookie: served (cut, not a session)" "$(grep '^cookie' "$T/abuse.out")" "cookie 200"
expect_match "the 7th connection from one address is closed" "$(grep '^seventh' "$T/abuse.out")" "^seventh (eof|reset)$"
expect_eq "once they close, a new one is served" "$(grep '^after' "$T/abuse.out")" "after 200"
expect_eq "the socket still answers" "$(api $A GET /v1/info | tail -n1)" 200

# --- TLS (web_tls_cert, web_tls_key): any address; and a restart logs everyone out ---
cp "$T/a.jar" "$T/a-old.jar"
stop_wsd
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=wslab-test \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
start_wsd "port_max = $((PORT_BASE + 99))
web_listen = 0.0.0.0:$WPORT
web_tls_cert = $T/cert.pem
web_tls_key = $T/key.pem
web_pam_service = $PAMSVC
web_url = https://127.0.0.1:$WPORT/"
WS=https://127.0.0.1:$WPORT
l=$(link $A)
expect_match "under TLS the link is https://" "$l" "^$WS/login\\?t=[0-9a-f]{64}\$"
hdr=$(curl -s --cacert "$T/cert.pem" -D - -o /dev/null -c "$T/tls.jar" "$l" | tr -d '\r')
expect_match "the TLS login sets a Secure cookie" "$(echo "$hdr" | grep -i '^set-cookie:')" "HttpOnly; SameSite=Strict; Secure$"
expect_match "and HSTS" "$(echo "$hdr" | grep -i '^strict-transport-security:')" "max-age=[0-9]+"
page=$(curl -s --cacert "$T/cert.pem" -b "$T/tls.jar" "$WS/")
expect_match "the page over TLS" "$page" "<span id=\"user\">$A</span>"
expect_eq "a session from before the restart is gone (sessions live in memory)" \
	"$(curl -s --cacert "$T/cert.pem" -b "$T/a-old.jar" "$WS/" | grep -c 'id="user"')" 0
expect_eq "plain HTTP to the TLS listener gets no HTTP answer" \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/")" 000
expect_eq "a handshake with garbage is closed, wsd goes on" \
	"$(/usr/bin/python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),5); s.sendall(b"garbage\r\n\r\n"); s.settimeout(5); s.recv(100)' $WPORT 2>/dev/null; curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' "$WS/style.css")" 200
expect_eq "a cookie cut short is refused over TLS too" \
	"$(curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' -b 'wslab_session=abc' -X POST "$WS/stop" -d x=y)" 403
# --- password login (PAM) over TLS ---
tcode() { curl -s --cacert "$T/cert.pem" -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "over TLS the login page has the password form" "$(curl -s --cacert "$T/cert.pem" "$WS/" | grep -c 'id="login-form"')" 1
expect_eq "a wrong password: 403" \
	"$(tcode -X POST "$WS/login" --data-urlencode "user=$P" --data-urlencode "password=nope")" 403
expect_eq "the right one: 303 with a session" \
	"$(tcode -c "$T/p.jar" -X POST "$WS/login" --data-urlencode "user=$P" --data-urlencode "password=Web-pass-123")" 303
expect_match "and the page is $P's" "$(curl -s --cacert "$T/cert.pem" -b "$T/p.jar" "$WS/")" "<span id=\"user\">$P</span>"
expect_eq "an unknown user: the same 403" \
	"$(tcode -X POST "$WS/login" --data-urlencode "user=nosuchuser" --data-urlencode "password=x")" 403
for _ in 1 2 3 4; do tcode -X POST "$WS/login" --data-urlencode "user=$P" --data-urlencode "password=nope" >/dev/null; done
expect_eq "after 5 failures a minute, even the right password is refused (429) without asking PAM" \
	"$(tcode -X POST "$WS/login" --data-urlencode "user=$P" --data-urlencode "password=Web-pass-123")" 429
ls -l "$ART"

stop_wsd
finish
