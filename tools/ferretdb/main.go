// Command runbus-ferretdb runs an embedded FerretDB (a MongoDB wire-protocol server) on the
// SQLite backend, so runbus's tests talk to a real MongoDB-compatible server without Docker.
//
// It prints "listening <mongodb-uri>" once the listener is up and stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "", "directory for the SQLite databases (required)")
	flag.Parse()

	if *dataDir == "" {
		log.Fatal("runbus-ferretdb: -data is required")
	}
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatalf("runbus-ferretdb: data dir: %v", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		log.Fatalf("runbus-ferretdb: data dir: %v", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		log.Fatalf("runbus-ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// Run binds the listener asynchronously; MongoDBURI is only meaningful once it has.
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("listening %s\n", f.MongoDBURI())

	if err := <-done; err != nil {
		log.Fatalf("runbus-ferretdb: %v", err)
	}
}
