// Command tracklet is the Tracklet collector and its tools.
//
//	tracklet serve [--addr 127.0.0.1:8080] [--db data/tracklet.db | --memory] [--demo]
//	               [--tls-cert FILE --tls-key FILE] [--retention DURATION]
//	tracklet tracker create --name N [--origin URL]...
//	tracklet tracker list
//	tracklet tracker disable|enable ID
//	tracklet tracker sigv4 ID [--access-key-id K --secret-access-key S | --off]
//	tracklet tracker relay ID --personalize-tracking-id P --region R [--endpoint URL] | --off
//	tracklet relay status [--tracking-id T] [--refusals N]
//	tracklet export --tracking-id T [--format ndjson|csv|personalize] [--since T] [--until T] [-o FILE]
//	                [--columns KEY[:TYPE],...] [--schema FILE] [--event-types T,...]
//	tracklet rejected [--tracking-id T] [--limit N] [--body]
//	tracklet backup -o FILE
//
// Every flag can also be set with an environment variable: TRACKLET_ and
// the flag's name in upper case with - as _ (--admin-token is
// TRACKLET_ADMIN_TOKEN). A flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `tracklet: a PutEvents-compatible event collector

Usage:
  tracklet serve [flags]              run the collector
  tracklet tracker create --name N [--origin URL]...
  tracklet tracker list
  tracklet tracker disable ID         refuse the tracker's events (enable undoes it)
  tracklet tracker sigv4 ID           require AWS SigV4 on /events (prints new keys, or give yours)
  tracklet tracker relay ID --personalize-tracking-id P --region R [--endpoint URL]
                                      relay the tracker's events to Amazon Personalize
  tracklet relay status               what the relay sent, what Personalize refused and why
  tracklet export --tracking-id T [--format ndjson|csv|personalize] [--since T] [--until T] [-o FILE]
  tracklet rejected [--tracking-id T] [--limit N] [--body]
  tracklet backup -o FILE             a consistent copy of --db, while the collector runs

Run "tracklet COMMAND -h" for a command's flags. Every flag can be set with
an environment variable TRACKLET_<FLAG>, e.g. TRACKLET_DB, TRACKLET_ADDR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracklet:", err)
		os.Exit(1)
	}
}

// run runs one command; tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	if c, ok := commands[cmd]; ok {
		return c(ctx, args, stdout, stderr)
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// commands are the commands of usage, by name: each parses its own flags
// from args.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"serve":    serve,
	"tracker":  tracker,
	"export":   exportCmd,
	"rejected": rejectedCmd,
	"backup":   backupCmd,
	"relay":    relayCmd,
}

// newFlags returns a flag set for a command with the flags every command
// has (--db).
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("tracklet "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "data/tracklet.db", "SQLite database `file` (created with its directory if missing)")
	return fs, db
}

// parse applies TRACKLET_* environment variables, then the command line.
func parse(fs *flag.FlagSet, args []string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func envName(flagName string) string {
	return "TRACKLET_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// listFlag is a repeatable flag; from the environment, a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
