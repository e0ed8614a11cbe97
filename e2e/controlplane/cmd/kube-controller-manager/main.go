// Command kube-controller-manager is the upstream controller manager (garbage
// collector, Deployment, DaemonSet, ServiceAccount and namespace controllers
// among others), built from the same k8s.io/kubernetes module as kube-apiserver.
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
