// Package helm_test renders the chart in soulbox/ with `helm template` and
// decodes every object strictly into the Kubernetes API's own Go types, so
// a misspelt or misplaced field fails here rather than in a cluster (no
// cluster runs in these tests). It is a module of its own so that the
// Kubernetes API packages stay out of the server's go.mod: the binary
// never imports them, and developers and CI of the main module need not
// fetch them.
package helm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const chart = "soulbox"

// pin pins the pod to a node, which a hostPath data dir requires.
const pin = `nodeSelector.kubernetes\.io/hostname=node-1`

// helm finds the helm binary scripts/setup.sh installs; CI must have it.
func helm(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("helm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("helm is required in CI (scripts/setup.sh installs it)")
		}
		t.Skip("helm not installed (scripts/setup.sh installs it)")
	}
	return p
}

// objects is one rendering of the chart, decoded.
type objects struct {
	sts     *appsv1.StatefulSet
	svc     *corev1.Service
	deploy  *appsv1.Deployment
	ds      *appsv1.DaemonSet
	nodeSvc *corev1.Service // cluster mode: the node listener's
	ing     *networkingv1.Ingress
	pdb     *policyv1.PodDisruptionBudget
	secrets []*corev1.Secret
}

func render(t *testing.T, sets ...string) objects {
	t.Helper()
	args := []string{"template", "rel", chart}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := exec.Command(helm(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, out)
	}
	var o objects
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("decode %s: %v", doc, err)
		}
		var obj any
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/StatefulSet":
			o.sts = new(appsv1.StatefulSet)
			obj = o.sts
		case "v1/Service":
			svc := new(corev1.Service)
			if strings.Contains(string(doc), "name: rel-soulbox-nodes\n") {
				o.nodeSvc = svc
			} else {
				o.svc = svc
			}
			obj = svc
		case "apps/v1/Deployment":
			o.deploy = new(appsv1.Deployment)
			obj = o.deploy
		case "apps/v1/DaemonSet":
			o.ds = new(appsv1.DaemonSet)
			obj = o.ds
		case "networking.k8s.io/v1/Ingress":
			o.ing = new(networkingv1.Ingress)
			obj = o.ing
		case "policy/v1/PodDisruptionBudget":
			o.pdb = new(policyv1.PodDisruptionBudget)
			obj = o.pdb
		case "v1/Secret":
			s := new(corev1.Secret)
			o.secrets = append(o.secrets, s)
			obj = s
		default:
			t.Fatalf("unexpected object %s %s:\n%s", tm.APIVersion, tm.Kind, doc)
		}
		// Strict: an unknown or duplicate field is an error, not dropped.
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s: %v\n%s", tm.Kind, err, doc)
		}
	}
	if (o.sts == nil) == (o.deploy == nil) || o.svc == nil {
		t.Fatalf("want a StatefulSet or a Deployment, and a Service:\n%s", out)
	}
	return o
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func TestLint(t *testing.T) {
	for _, sets := range [][]string{{"image.repository=registry.example/soulbox", pin}, clusterSets} {
		args := []string{"lint", "--strict", chart}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(helm(t), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, out)
		}
	}
}

func TestDefaults(t *testing.T) {
	o := render(t, "image.repository=registry.example/soulbox", pin)
	pod := o.sts.Spec.Template
	if *o.sts.Spec.Replicas != 1 {
		t.Errorf("replicas %d: one server per database", *o.sts.Spec.Replicas)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "registry.example/soulbox:0.1.0" || !slices.Equal(c.Args, []string{"server"}) {
		t.Errorf("image %q, args %q", c.Image, c.Args)
	}
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Error("the server must be privileged: it runs runc with user namespaces, mounts and cgroups")
	}
	if p := c.LivenessProbe.HTTPGet; p == nil || p.Path != "/health" || p.Port.StrVal != "http" {
		t.Errorf("liveness probe %+v, want GET /health on http", c.LivenessProbe)
	}
	if p := c.ReadinessProbe.HTTPGet; p == nil || p.Path != "/ready" || p.Port.StrVal != "http" {
		t.Errorf("readiness probe %+v, want GET /ready on http", c.ReadinessProbe)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 3000 ||
		env(c, "SOULBOX_LISTEN") == nil || env(c, "SOULBOX_LISTEN").Value != "0.0.0.0:3000" {
		t.Errorf("ports %+v, listen %+v: the server must listen on the container port", c.Ports, env(c, "SOULBOX_LISTEN"))
	}
	if e := env(c, "SOULBOX_DOMAIN"); e == nil || e.Value != "sandbox.example.com" {
		t.Errorf("SOULBOX_DOMAIN %+v", e)
	}
	if env(c, "SOULBOX_STORE") != nil || env(c, "SOULBOX_ADMIN_KEY") != nil || len(o.secrets) != 0 {
		t.Errorf("defaults set a store or key: %+v, secrets %d", c.Env, len(o.secrets))
	}
	// The data dir: a hostPath by default, mounted where the server keeps
	// it, on the node the pod is pinned to.
	if pod.Spec.NodeSelector["kubernetes.io/hostname"] != "node-1" || pod.Spec.Affinity != nil {
		t.Errorf("node selector %v, affinity %+v: want the pod pinned by its selector", pod.Spec.NodeSelector, pod.Spec.Affinity)
	}
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].HostPath == nil || pod.Spec.Volumes[0].HostPath.Path != "/var/lib/soulbox" {
		t.Errorf("volumes %+v, want the hostPath /var/lib/soulbox", pod.Spec.Volumes)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != env(c, "SOULBOX_DATA_DIR").Value || c.VolumeMounts[0].Name != "data" {
		t.Errorf("mounts %+v, data dir %+v", c.VolumeMounts, env(c, "SOULBOX_DATA_DIR"))
	}
	// Service, PodDisruptionBudget and Ingress reach this pod.
	if !matches(o.svc.Spec.Selector, pod.Labels) || o.svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("service %+v does not reach the pod (labels %v)", o.svc.Spec, pod.Labels)
	}
	if o.pdb == nil || !matches(o.pdb.Spec.Selector.MatchLabels, pod.Labels) || o.pdb.Spec.MaxUnavailable.IntValue() != 0 {
		t.Errorf("pdb %+v", o.pdb)
	}
	if o.ing == nil {
		t.Fatal("no ingress")
	}
	var hosts []string
	for _, r := range o.ing.Spec.Rules {
		hosts = append(hosts, r.Host)
		b := r.HTTP.Paths[0].Backend.Service
		if b.Name != o.svc.Name || b.Port.Name != o.svc.Spec.Ports[0].Name {
			t.Errorf("ingress rule %s goes to %s:%s, not the service", r.Host, b.Name, b.Port.Name)
		}
	}
	if !slices.Equal(hosts, []string{"sandbox.example.com", "*.sandbox.example.com"}) {
		t.Errorf("ingress hosts %q, want the API domain and the sandbox wildcard", hosts)
	}
	if len(o.ing.Spec.TLS) != 0 {
		t.Errorf("TLS without a secret: %+v", o.ing.Spec.TLS)
	}
	checkEnvRead(t, c)
}

func TestPostgresPVCAndTLS(t *testing.T) {
	o := render(t, "image.repository=registry.example/soulbox", "image.tag=dev",
		"postgres.url=postgres://soulbox:pw@db.internal/soulbox?sslmode=verify-full",
		"adminKey=e2b_0123456789abcdef0123456789abcdef01234567",
		"persistence.type=pvc", "persistence.size=20Gi", "persistence.storageClassName=fast",
		"ingress.tlsSecretName=wildcard-tls", "ingress.className=nginx", "domain=sb.example.org")
	c := o.sts.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example/soulbox:dev" {
		t.Errorf("image %q", c.Image)
	}
	if len(o.secrets) != 1 {
		t.Fatalf("%d secrets, want the chart's one", len(o.secrets))
	}
	s := o.secrets[0]
	if s.StringData["store-url"] != "postgres://soulbox:pw@db.internal/soulbox?sslmode=verify-full" ||
		s.StringData["admin-key"] != "e2b_0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("secret data %v", s.StringData)
	}
	for name, key := range map[string]string{"SOULBOX_STORE": "store-url", "SOULBOX_ADMIN_KEY": "admin-key"} {
		e := env(c, name)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != s.Name || e.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("%s: %+v, want secret %s key %s", name, e, s.Name, key)
		}
	}
	if len(o.sts.Spec.Template.Spec.Volumes) != 0 || len(o.sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumes %+v, claims %+v: want one claim", o.sts.Spec.Template.Spec.Volumes, o.sts.Spec.VolumeClaimTemplates)
	}
	pvc := o.sts.Spec.VolumeClaimTemplates[0]
	if pvc.Name != c.VolumeMounts[0].Name || pvc.Spec.Resources.Requests.Storage().String() != "20Gi" ||
		pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "fast" {
		t.Errorf("claim %+v", pvc)
	}
	if len(o.ing.Spec.TLS) != 1 || o.ing.Spec.TLS[0].SecretName != "wildcard-tls" ||
		!slices.Equal(o.ing.Spec.TLS[0].Hosts, []string{"sb.example.org", "*.sb.example.org"}) {
		t.Errorf("ingress tls %+v", o.ing.Spec.TLS)
	}
	if o.ing.Spec.IngressClassName == nil || *o.ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingress class %v", o.ing.Spec.IngressClassName)
	}
	checkEnvRead(t, c)
}

func TestExistingSecret(t *testing.T) {
	o := render(t, "image.repository=registry.example/soulbox", pin, "existingSecret=soulbox-creds",
		"postgres.urlFromSecret=true", "ingress.enabled=false", "podDisruptionBudget.enabled=false")
	if len(o.secrets) != 0 || o.ing != nil || o.pdb != nil {
		t.Errorf("rendered %d secrets, ingress %v, pdb %v; want none", len(o.secrets), o.ing != nil, o.pdb != nil)
	}
	c := o.sts.Spec.Template.Spec.Containers[0]
	for name, key := range map[string]string{"SOULBOX_STORE": "store-url", "SOULBOX_ADMIN_KEY": "admin-key"} {
		e := env(c, name)
		if e == nil || e.ValueFrom.SecretKeyRef.Name != "soulbox-creds" || e.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("%s: %+v, want soulbox-creds key %s", name, e, key)
		}
	}
}

// TestAffinityPins: an affinity pins a hostPath pod as a node selector
// does, and is rendered as given.
func TestAffinityPins(t *testing.T) {
	o := render(t, "image.repository=registry.example/soulbox",
		"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=kubernetes.io/hostname",
		"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In",
		"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=node-2")
	a := o.sts.Spec.Template.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("affinity %+v, want the node affinity given", a)
	}
	e := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if e.Key != "kubernetes.io/hostname" || e.Operator != corev1.NodeSelectorOpIn || !slices.Equal(e.Values, []string{"node-2"}) {
		t.Errorf("node affinity term %+v", e)
	}
}

// TestBadValues: values the server could not run with are refused at
// render time, saying which.
func TestBadValues(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{pin}, "image.repository is required"},
		{[]string{"image.repository=r/s", pin, "persistence.type=nfs"}, "persistence.type: want hostPath or pvc"},
		{[]string{"image.repository=r/s", pin, "postgres.url=postgres://db/x", "postgres.urlFromSecret=true", "existingSecret=s"}, "set one"},
		{[]string{"image.repository=r/s", pin, "postgres.urlFromSecret=true"}, "needs existingSecret"},
		// A hostPath data dir on whichever node the pod lands: a restart
		// elsewhere would find no templates and no SQLite database.
		{[]string{"image.repository=r/s"}, "persistence.type=hostPath needs the pod pinned"},
		{[]string{"image.repository=r/s", "persistence.type=hostPath", "nodeSelector=null"}, "persistence.type=hostPath needs the pod pinned"},
		{[]string{"image.repository=r/s", pin, "mode=replicas"}, "mode: want embedded or cluster"},
		// Cluster mode: replicas share a database, keys, and nodes join.
		{[]string{"image.repository=r/s", "mode=cluster", "keys.existingSecret=k", "node.joinTokensSecret=j"}, "mode=cluster needs PostgreSQL"},
		{[]string{"image.repository=r/s", "mode=cluster", "postgres.url=postgres://db/x", "node.joinTokensSecret=j"}, "needs keys.existingSecret"},
		{[]string{"image.repository=r/s", "mode=cluster", "postgres.url=postgres://db/x", "keys.existingSecret=k"}, "needs node.joinTokensSecret"},
		{append(slices.Clone(clusterSets), "controlPlane.replicas=0"), "controlPlane.replicas: want 1 or more"},
	} {
		args := []string{"template", "rel", chart}
		for _, s := range c.sets {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(helm(t), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: err %v, output:\n%s\nwant an error saying %q", c.sets, err, out, c.want)
		}
	}
}

// TestValuesRead: every value the chart offers is read by a template.
func TestValuesRead(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	var templates []byte
	files, _ := filepath.Glob(filepath.Join(chart, "templates", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		templates = append(templates, b...)
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, sub := range m {
				walk(prefix+"."+k, sub)
			}
			return
		}
		if !bytes.Contains(templates, []byte(".Values"+prefix)) {
			t.Errorf("value %s is read by no template", strings.TrimPrefix(prefix, "."))
		}
	}
	walk("", values)
}

// checkEnvRead: every variable the chart sets is one the server reads.
func checkEnvRead(t *testing.T, c corev1.Container) {
	t.Helper()
	config, err := os.ReadFile("../../internal/server/config.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Env {
		if !bytes.Contains(config, []byte(`"`+e.Name+`"`)) {
			t.Errorf("the chart sets %s, which the server does not read", e.Name)
		}
	}
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// clusterSets render cluster mode with what it requires.
var clusterSets = []string{"image.repository=registry.example/soulbox", "mode=cluster",
	"postgres.url=postgres://soulbox:pw@db.internal/soulbox", "keys.existingSecret=soulbox-keys",
	"node.joinTokensSecret=soulbox-join"}

// TestClusterMode: control-plane replicas without sandboxes of their own
// (a Deployment sharing PostgreSQL and one set of keys, mounted as the
// server reads them), the node listener behind a Service whose names the
// listener's certificate holds, and a privileged node DaemonSet that
// joins with its own node's token and advertises its pod's address.
func TestClusterMode(t *testing.T) {
	o := render(t, append(clusterSets, "controlPlane.replicas=3", "node.maxSandboxes=40")...)
	if o.sts != nil || o.deploy == nil || o.ds == nil || o.nodeSvc == nil {
		t.Fatalf("cluster mode rendered statefulset %v, deployment %v, daemonset %v, node service %v",
			o.sts != nil, o.deploy != nil, o.ds != nil, o.nodeSvc != nil)
	}
	if *o.deploy.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *o.deploy.Spec.Replicas)
	}
	cp := o.deploy.Spec.Template
	c := cp.Spec.Containers[0]
	for name, want := range map[string]string{
		"SOULBOX_EMBEDDED_NODE":     "off",
		"SOULBOX_NODE_LISTEN":       "0.0.0.0:3443",
		"SOULBOX_KEYS_DIR":          "/etc/soulbox/keys",
		"SOULBOX_NODE_LISTEN_NAMES": "rel-soulbox-nodes,rel-soulbox-nodes.default.svc,rel-soulbox-nodes.default.svc.cluster.local",
	} {
		if e := env(c, name); e == nil || e.Value != want {
			t.Errorf("%s = %+v, want %q", name, e, want)
		}
	}
	if e := env(c, "SOULBOX_STORE"); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Key != "store-url" {
		t.Errorf("SOULBOX_STORE %+v, want the store URL from the secret", e)
	}
	if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
		t.Error("a control plane runs no sandboxes: it needs no privileges")
	}
	checkEnvRead(t, c)
	// The keys: the server's file names under its keys dir, 0400 (it
	// refuses a key others may read).
	var keys *corev1.Volume
	for i := range cp.Spec.Volumes {
		if cp.Spec.Volumes[i].Secret != nil {
			keys = &cp.Spec.Volumes[i]
		}
	}
	if keys == nil || keys.Secret.SecretName != "soulbox-keys" || keys.Secret.DefaultMode == nil || *keys.Secret.DefaultMode != 0o400 {
		t.Fatalf("keys volume %+v", keys)
	}
	var paths []string
	for _, it := range keys.Secret.Items {
		paths = append(paths, it.Path)
	}
	if !slices.Equal(paths, []string{"token.key", "audit.key", "secrets.key", "node-ca/ca.pem", "node-ca/ca-key.pem"}) {
		t.Errorf("key paths %q", paths)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.Name == keys.Name && m.MountPath == env(c, "SOULBOX_KEYS_DIR").Value && m.ReadOnly
	}
	if !mounted {
		t.Errorf("the keys are not mounted read-only at the keys dir: %+v", c.VolumeMounts)
	}
	// The API Service, the node Service and the PDB reach the control
	// planes and not the nodes.
	nodePod := o.ds.Spec.Template
	for what, sel := range map[string]map[string]string{"service": o.svc.Spec.Selector, "node service": o.nodeSvc.Spec.Selector, "pdb": o.pdb.Spec.Selector.MatchLabels} {
		if !matches(sel, cp.Labels) || matches(sel, nodePod.Labels) {
			t.Errorf("%s selects %v: want the control planes (%v), not the nodes (%v)", what, sel, cp.Labels, nodePod.Labels)
		}
	}
	if matches(o.ds.Spec.Selector.MatchLabels, cp.Labels) || !matches(o.deploy.Spec.Selector.MatchLabels, cp.Labels) {
		t.Error("the workloads' selectors overlap")
	}
	if o.pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb maxUnavailable %v, want one replica at a time", o.pdb.Spec.MaxUnavailable)
	}
	if o.nodeSvc.Spec.Ports[0].Port != 3443 || o.nodeSvc.Spec.Ports[0].TargetPort.StrVal != "nodes" {
		t.Errorf("node service ports %+v", o.nodeSvc.Spec.Ports)
	}
	// The node: privileged, its data dir on the host, its own token by
	// its node's name, the control planes by the Service's name.
	n := nodePod.Spec.Containers[0]
	if n.SecurityContext == nil || n.SecurityContext.Privileged == nil || !*n.SecurityContext.Privileged {
		t.Error("the node must be privileged: it runs runc with user namespaces, mounts and cgroups")
	}
	wantArgs := []string{"node", "--control-plane", "https://rel-soulbox-nodes.default.svc:3443",
		"--join-token-file", "/etc/soulbox/join/$(NODE_NAME)", "--name", "$(NODE_NAME)", "--data-dir", "/var/lib/soulbox-node",
		"--listen", "0.0.0.0:3444", "--advertise", "$(POD_IP):3444", "--max-sandboxes", "40"}
	if !slices.Equal(n.Args, wantArgs) {
		t.Errorf("node args %q\nwant %q", n.Args, wantArgs)
	}
	checkNodeFlags(t, n.Args)
	if e := env(n, "NODE_NAME"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME %+v", e)
	}
	if e := env(n, "POD_IP"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("POD_IP %+v", e)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range nodePod.Spec.Volumes {
		vols[v.Name] = v
	}
	if v := vols["data"]; v.HostPath == nil || v.HostPath.Path != "/var/lib/soulbox-node" {
		t.Errorf("node data volume %+v", v)
	}
	if v := vols["join"]; v.Secret == nil || v.Secret.SecretName != "soulbox-join" {
		t.Errorf("node join volume %+v", v)
	}
}

// checkNodeFlags: every flag the chart passes `soulbox node` is one it
// has.
func checkNodeFlags(t *testing.T, args []string) {
	t.Helper()
	src, err := os.ReadFile("../../internal/cli/node.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok && !bytes.Contains(src, []byte(`"`+name+`"`)) {
			t.Errorf("the chart passes %s, which soulbox node does not have", a)
		}
	}
}
