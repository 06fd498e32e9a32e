package fake

import (
	"io"
	"net"
	"net/http"
	"sync"
)

// ConnectProxy is an HTTPS (CONNECT) proxy for tests: it tunnels every
// connection to Target, whatever host was asked for, and records the
// host:port each CONNECT named, so a test can prove a client went through
// HTTPS_PROXY. Serve it with httptest.NewServer.
type ConnectProxy struct {
	Target string

	mu    sync.Mutex
	hosts []string
}

// ServeHTTP implements http.Handler.
func (p *ConnectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, r.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.Target)
	if err != nil {
		http.Error(w, "upstream unreachable", http.StatusBadGateway)
		return
	}
	defer up.Close()
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, buf); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

// Seen returns the hosts CONNECT asked for so far.
func (p *ConnectProxy) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

// Take returns the hosts seen so far and forgets them.
func (p *ConnectProxy) Take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts
	p.hosts = nil
	return h
}
