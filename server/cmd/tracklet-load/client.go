package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is one load client's keep-alive HTTP/1.1 connection: it posts a
// prepared body and reads the answer's status and body, nothing more.
//
// net/http's client costs about 35 µs of CPU per request here (two
// goroutines per connection and channel hops between them, header maps);
// on two shared cores that is CPU the target under test does not get, and
// it weighs the most against the fastest target, the no-op. Load tools
// such as wrk keep their client as thin for the same reason.
type conn struct {
	addr    string // host:port
	host    string // the Host header
	timeout time.Duration

	c   net.Conn
	r   *bufio.Reader
	req []byte
}

// post sends body to path with Content-Type: application/json and returns
// the answer's status code. The connection is reopened if the server
// closed it or anything went wrong.
func (c *conn) post(path string, body []byte) (int, error) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, err
		}
		c.c, c.r = nc, bufio.NewReaderSize(nc, 4096)
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	c.c.SetDeadline(time.Now().Add(c.timeout))
	status, keep, err := c.roundTrip()
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

// close closes the connection, if one is open; the next post reopens it.
func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

func (c *conn) roundTrip() (status int, keepAlive bool, err error) {
	if _, err := c.c.Write(c.req); err != nil {
		return 0, false, err
	}
	line, err := c.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keepAlive := -1, false, true
	for {
		line, err := c.line()
		if err != nil {
			return 0, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = c.discardChunks()
	case length >= 0:
		_, err = c.r.Discard(length)
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, c.r)
		keepAlive = false
	}
	return status, keepAlive && err == nil, err
}

// line reads one CRLF-terminated line, without the CRLF.
func (c *conn) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

func (c *conn) discardChunks() error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil {
			return errors.New("bad chunk size")
		}
		if n == 0 { // trailers, then the blank line
			for {
				line, err := c.line()
				if err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if _, err := c.r.Discard(int(n) + 2); err != nil { // the chunk and its CRLF
			return err
		}
	}
}
