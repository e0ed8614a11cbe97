// Command etcd is the upstream etcd server (go.etcd.io/etcd/server/v3),
// built from this module because `go install` refuses etcd's own replaces.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
