// imagecopy is the part of skopeo that a node's image pull exercises, built on
// the current containers/image (go.podman.io/image/v5), the library that
// skopeo, podman, buildah and CRI-O share. The module proxy does not serve
// skopeo itself, so the consumer tests run this instead; its command line is
// the subset of skopeo's that they use, so one harness drives both:
//
//	imagecopy [--debug] copy [--authfile FILE] docker://REF dir:PATH
//	imagecopy [--debug] inspect --raw [--authfile FILE] docker://REF
//	imagecopy --version
//
// Everything else comes from where containers/image looks on a node:
// /etc/containers/registries.conf and registries.conf.d/ (mirrors, blocked,
// insecure), /etc/containers/certs.d/<host>/ (CAs, client certificates) and
// /etc/containers/policy.json. There are no TLS or credential flags beyond
// --authfile (CRI-O's global_auth_file): only the node's files decide.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
	"go.podman.io/image/v5/version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		// skopeo's form, so tests match the same messages for both tools.
		logrus.Fatal(err)
	}
}

func run(args []string) error {
	global := flag.NewFlagSet("imagecopy", flag.ContinueOnError)
	debug := global.Bool("debug", false, "log containers/image's debug messages (endpoints tried, certificates read)")
	showVersion := global.Bool("version", false, "print the containers/image version")
	if err := global.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Printf("imagecopy (containers/image %s)\n", version.Version)
		return nil
	}
	if *debug {
		logrus.SetLevel(logrus.DebugLevel)
	}
	rest := global.Args()
	if len(rest) == 0 {
		return errors.New("usage: imagecopy [--debug] copy|inspect ...")
	}
	cmd := flag.NewFlagSet(rest[0], flag.ContinueOnError)
	authfile := cmd.String("authfile", "", "credentials file (containers-auth.json format)")
	raw := cmd.Bool("raw", false, "inspect: print the manifest as the registry returned it")
	if err := cmd.Parse(rest[1:]); err != nil {
		return err
	}
	sys := &types.SystemContext{AuthFilePath: *authfile}
	ctx := context.Background()
	switch rest[0] {
	case "copy":
		if cmd.NArg() != 2 {
			return errors.New("usage: imagecopy copy [--authfile FILE] docker://REF dir:PATH")
		}
		return copyImage(ctx, sys, cmd.Arg(0), cmd.Arg(1))
	case "inspect":
		if cmd.NArg() != 1 || !*raw {
			return errors.New("usage: imagecopy inspect --raw [--authfile FILE] docker://REF")
		}
		return inspectRaw(ctx, sys, cmd.Arg(0))
	default:
		return fmt.Errorf("unknown command %q (copy, inspect)", rest[0])
	}
}

func dockerRef(arg string) (types.ImageReference, error) {
	ref, ok := strings.CutPrefix(arg, "docker:")
	if !ok {
		return nil, fmt.Errorf("source %q: only docker://REF is supported", arg)
	}
	return docker.ParseReference(ref)
}

func copyImage(ctx context.Context, sys *types.SystemContext, from, to string) error {
	src, err := dockerRef(from)
	if err != nil {
		return err
	}
	path, ok := strings.CutPrefix(to, "dir:")
	if !ok {
		return fmt.Errorf("destination %q: only dir:PATH is supported", to)
	}
	dest, err := directory.NewReference(path)
	if err != nil {
		return err
	}
	policy, err := signature.DefaultPolicy(sys)
	if err != nil {
		return fmt.Errorf("reading the signature policy: %w", err)
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return err
	}
	defer func() { _ = pc.Destroy() }()
	_, err = copy.Image(ctx, pc, dest, src, &copy.Options{SourceCtx: sys, DestinationCtx: sys, ReportWriter: os.Stdout})
	if err != nil {
		return fmt.Errorf("copying system image from manifest list: %w", err)
	}
	return nil
}

func inspectRaw(ctx context.Context, sys *types.SystemContext, name string) error {
	ref, err := dockerRef(name)
	if err != nil {
		return err
	}
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return fmt.Errorf("error parsing image name %q: %w", name, err)
	}
	defer func() { _ = src.Close() }()
	manifest, _, err := src.GetManifest(ctx, nil)
	if err != nil {
		return fmt.Errorf("error retrieving manifest for image: %w", err)
	}
	_, err = os.Stdout.Write(manifest)
	return err
}
