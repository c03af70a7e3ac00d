package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"postfach/internal/autoconfig"
)

// Timeouts of the http and https listeners. Their requests are small and
// answered from memory, so a client gets little time: slow clients must
// not hold connections (and their connection-limit slots) for long.
const (
	// httpReadHeaderTimeout also bounds the TLS handshake.
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 30 * time.Second
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 16 << 10
)

// setupHTTP prepares the http and https listeners: autoconfig,
// autodiscover, Apple profiles and the MTA-STS policy (see package
// autoconfig). https uses the certificate of the other TLS listeners.
func (s *Server) setupHTTP() error {
	handler := autoconfig.New(autoconfig.Options{
		Hostname: s.cfg.Hostname,
		Services: func() []autoconfig.Service { return autoconfig.Services(s.listenerPort) },
		Domains: func(ctx context.Context) ([]string, error) {
			ds, err := s.Store.Domains(ctx)
			if err != nil {
				return nil, err
			}
			names := make([]string, len(ds))
			for i, d := range ds {
				names[i] = d.Name
			}
			return names, nil
		},
		Policy: autoconfig.PolicyFromConfig(s.cfg),
		Logger: s.log,
	})
	mux := http.NewServeMux()
	mux.Handle("/", s.acmeChallenges(handler)) // HTTP-01 when the http listener holds acme_http_addr (tls.go)

	httpsTLS := s.TLS.Clone()
	// ALPN: only HTTP. A client asking for another protocol (an attacker
	// redirecting an IMAP client here, the ALPACA attack) fails the
	// handshake instead of talking HTTP.
	httpsTLS.NextProtos = []string{"h2", "http/1.1"}
	if s.acme != nil {
		// TLS-ALPN-01 (RFC 8737) when https holds acme_tls_alpn_addr:
		// only the challenge handshake negotiates it (tls.go).
		httpsTLS.NextProtos = append(httpsTLS.NextProtos, "acme-tls/1")
	}
	for _, l := range []struct {
		name string
		tls  *tls.Config
	}{{"http", nil}, {"https", httpsTLS}} {
		hs := newHTTPServer(mux, l.tls, s.log.With("listener", l.name))
		s.handlers[l.name] = hs.serveConn
		s.shutdowns = append(s.shutdowns, hs.shutdown)
	}
	return nil
}

// printAutoconfig tells where clients find their settings by
// themselves, when the http or https listener runs.
func (s *Server) printAutoconfig(w io.Writer) {
	scheme, port := "https", s.listenerPort("https")
	if port == 0 {
		scheme, port = "http", s.listenerPort("http")
	}
	if port == 0 {
		return
	}
	suffix := ""
	if !(scheme == "https" && port == 443 || scheme == "http" && port == 80) {
		suffix = ":" + strconv.Itoa(port)
	}
	domain := s.cfg.Domain()
	fmt.Fprintf(w, "  Automatic setup (%s, port %d):\n", scheme, port)
	fmt.Fprintf(w, "    Thunderbird: %s://autoconfig.%s%s/mail/config-v1.1.xml\n", scheme, domain, suffix)
	fmt.Fprintf(w, "    Outlook:     %s://autodiscover.%s%s/autodiscover/autodiscover.xml\n", scheme, domain, suffix)
	fmt.Fprintf(w, "    Apple Mail:  %s://%s%s/apple/<address>.mobileconfig\n", scheme, s.cfg.Hostname, suffix)
	fmt.Fprintf(w, "    DNS records these names need: postfach dns %s\n", domain)
}

// listenerPort is the bound port of a listener, or 0 when it does not
// run.
func (s *Server) listenerPort(name string) int {
	if a, ok := s.Addr(name).(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// httpServer runs a net/http server on the connections the accept loop
// hands over one at a time. serveConn returns when the HTTP server is
// done with the connection, so that the connection keeps its slot in the
// server's connection limits while it is open.
type httpServer struct {
	srv *http.Server
	ln  *connListener
	tls *tls.Config // nil: plain HTTP

	start sync.Once
	// served is closed when Serve has returned.
	served chan struct{}

	mu   sync.Mutex
	done map[net.Conn]chan struct{} // closed when the HTTP server closed the conn
}

func newHTTPServer(h http.Handler, tlsConf *tls.Config, logger *slog.Logger) *httpServer {
	hs := &httpServer{
		ln:     newConnListener(),
		tls:    tlsConf,
		served: make(chan struct{}),
		done:   make(map[net.Conn]chan struct{}),
	}
	hs.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		// Handshake failures and malformed requests from scanners are
		// routine: debug level.
		ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ConnState: hs.connState,
	}
	return hs
}

// serveConn hands conn to the HTTP server and waits until it is closed,
// or until ctx ends (the server's last shutdown step).
func (hs *httpServer) serveConn(ctx context.Context, conn net.Conn) {
	c := conn
	if hs.tls != nil {
		// net/http recognizes *tls.Conn: it runs the handshake under its
		// timeouts, fills Request.TLS and picks HTTP/2 by ALPN.
		c = tls.Server(conn, hs.tls)
	}
	done := make(chan struct{})
	hs.mu.Lock()
	hs.done[c] = done
	hs.mu.Unlock()
	hs.start.Do(func() {
		go func() {
			defer close(hs.served)
			hs.srv.Serve(hs.ln)
		}()
	})
	select {
	case hs.ln.conns <- c:
	case <-hs.ln.closed:
		hs.forget(c)
		c.Close()
		return
	case <-ctx.Done():
		hs.forget(c)
		c.Close()
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
		c.Close()
	}
}

// connState releases serveConn when the HTTP server is done with a
// connection.
func (hs *httpServer) connState(c net.Conn, state http.ConnState) {
	if state == http.StateClosed || state == http.StateHijacked {
		hs.mu.Lock()
		if d, ok := hs.done[c]; ok {
			close(d)
			delete(hs.done, c)
		}
		hs.mu.Unlock()
	}
}

func (hs *httpServer) forget(c net.Conn) {
	hs.mu.Lock()
	delete(hs.done, c)
	hs.mu.Unlock()
}

// shutdown stops taking connections, lets requests in flight finish and
// closes idle connections; when ctx ends first, it closes the rest and
// returns ctx's error.
func (hs *httpServer) shutdown(ctx context.Context) error {
	hs.ln.Close()
	hs.start.Do(func() { close(hs.served) }) // never started: nothing runs
	err := hs.srv.Shutdown(ctx)
	if err != nil {
		hs.srv.Close()
	}
	select {
	case <-hs.served:
	case <-ctx.Done():
	}
	return err
}

// connListener is a net.Listener fed by serveConn.
type connListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr implements net.Listener; the real listeners are the server's.
func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero} }
