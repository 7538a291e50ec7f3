package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// certReloader serves the certificate in a pair of PEM files and picks up
// a new one when the files change (certbot, cert-manager or an operator
// renewing it), without a restart: every TLS handshake stats the two files
// (two syscalls, against a handshake's public-key work) and reloads them
// when their inode, size or modification time differ from the loaded
// ones. A pair that fails to load (the certificate renewed, the key not
// yet) leaves the previous certificate in use and is logged once.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	loaded [2]os.FileInfo // what cert was loaded from
	failed [2]os.FileInfo // the last pair that failed to load
}

// newCertReloader loads the pair once; it must load.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	stamps, err := r.stat()
	if err != nil {
		return nil, err
	}
	if err := r.load(stamps); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) stat() ([2]os.FileInfo, error) {
	var st [2]os.FileInfo
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("TLS: %w", err)
		}
		st[i] = fi
	}
	return st, nil
}

// load reads the pair; r.mu is held or r is not shared yet.
func (r *certReloader) load(stamps [2]os.FileInfo) error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS: load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("TLS: %s: %w", r.certFile, err)
		}
	}
	r.cert, r.loaded = &cert, stamps
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamps, err := r.stat()
	switch {
	case err != nil:
		if !same(r.failed, stamps) {
			r.failed = stamps
			r.log.Warn("TLS certificate files unreadable; serving the loaded certificate", "err", err)
		}
	case same(stamps, r.loaded) || same(stamps, r.failed):
	default:
		if err := r.load(stamps); err != nil {
			r.failed = stamps
			r.log.Warn("TLS certificate files changed but do not load; serving the previous certificate", "err", err)
			break
		}
		r.log.Info("TLS certificate reloaded", "subject", r.cert.Leaf.Subject.String(),
			"serial", r.cert.Leaf.SerialNumber.String(), "not_after", r.cert.Leaf.NotAfter)
	}
	return r.cert, nil
}

// same reports whether two stats of the pair show the same files, unchanged.
func same(a, b [2]os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil {
			if a[i] != b[i] {
				return false
			}
			continue
		}
		if !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()) {
			return false
		}
	}
	return true
}
