// The reconcile of a Foo, as examples/src/foo.rs does it: under the finalizer clux.dev/cleanup,
// server-side apply the owned ConfigMap foo-<name> when it is missing or differs from the spec
// (with an Event), then set the Ready condition and observedGeneration; on deletion, delete
// the ConfigMap (with an Event) and remove the finalizer.
package main

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

const (
	controllerName = "foo-controller"
	finalizer      = "clux.dev/cleanup"
	managedBy      = "app.kubernetes.io/managed-by"
)

type reconciler struct {
	client.Client
	events recorder.EventRecorder
}

func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	result, err := r.reconcile(ctx, req)
	if err != nil {
		log.Info(fmt.Sprintf("foo %s: reconcile failed (%v); retrying with backoff", req.Name, err))
		return result, err
	}
	log.Info("reconciled", "object", req.String(), "requeueAfter", result.RequeueAfter)
	return result, nil
}

func (r *reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var foo Foo
	if err := r.Get(ctx, req.NamespacedName, &foo); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !foo.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(&foo, finalizer) {
			return ctrl.Result{}, nil
		}
		if err := r.cleanup(ctx, &foo); err != nil {
			return ctrl.Result{}, err
		}
		before := foo.DeepCopy()
		controllerutil.RemoveFinalizer(&foo, finalizer)
		return ctrl.Result{}, r.Patch(ctx, &foo, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	}
	if !controllerutil.ContainsFinalizer(&foo, finalizer) {
		// The update this makes comes back through the watch and starts the next reconcile.
		before := foo.DeepCopy()
		controllerutil.AddFinalizer(&foo, finalizer)
		return ctrl.Result{}, r.Patch(ctx, &foo, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	}
	return r.apply(ctx, &foo)
}

func (r *reconciler) apply(ctx context.Context, foo *Foo) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	name := "foo-" + foo.Name
	data := map[string]string{"name": foo.Spec.Name, "info": foo.Spec.Info}
	var current corev1.ConfigMap
	err := r.Get(ctx, client.ObjectKey{Namespace: foo.Namespace, Name: name}, &current)
	missing := apierrors.IsNotFound(err)
	if err != nil && !missing {
		return ctrl.Result{}, fmt.Errorf("configmap %s/%s: %w", foo.Namespace, name, err)
	}
	switch {
	case missing:
		log.Info(fmt.Sprintf("foo %s: configmap %s is missing; creating it", foo.Name, name))
		r.events.Eventf(foo, nil, corev1.EventTypeNormal, "ConfigMapCreated", "Create", "created configmap %s", name)
	case !maps.Equal(current.Data, data):
		log.Info(fmt.Sprintf("foo %s: configmap %s differs from the spec; updating it", foo.Name, name))
		r.events.Eventf(foo, nil, corev1.EventTypeNormal, "ConfigMapUpdated", "Update", "configmap %s brought in line with the spec", name)
	}
	if missing || !maps.Equal(current.Data, data) {
		owner := metav1ac.OwnerReference().WithAPIVersion(groupVersion.String()).WithKind("Foo").
			WithName(foo.Name).WithUID(foo.UID).WithController(true).WithBlockOwnerDeletion(true)
		desired := corev1ac.ConfigMap(name, foo.Namespace).
			WithLabels(map[string]string{managedBy: controllerName}).
			WithOwnerReferences(owner).
			WithData(data)
		if err := r.Apply(ctx, desired, client.FieldOwner(controllerName), client.ForceOwnership); err != nil {
			return ctrl.Result{}, fmt.Errorf("configmap %s/%s: %w", foo.Namespace, name, err)
		}
	}
	status := &FooStatus{
		ObservedGeneration: foo.Generation,
		ConfigMap:          name,
		Conditions: []FooCondition{{
			Type:    "Ready",
			Status:  "True",
			Reason:  "ConfigMapInSync",
			Message: fmt.Sprintf("configmap %s holds the spec", name),
		}},
	}
	if !reflect.DeepEqual(foo.Status, status) {
		before := foo.DeepCopy()
		foo.Status = status
		if err := r.Status().Patch(ctx, foo, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("status of foo %s: %w", foo.Name, err)
		}
		log.Info(fmt.Sprintf("foo %s: status Ready=True (generation %d)", foo.Name, foo.Generation))
	}
	return ctrl.Result{RequeueAfter: 300 * time.Second}, nil
}

func (r *reconciler) cleanup(ctx context.Context, foo *Foo) error {
	log := ctrl.LoggerFrom(ctx)
	name := "foo-" + foo.Name
	// Owner references would let the garbage collector do this; the finalizer makes sure it
	// happens (and that the Foo stays until it has).
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = foo.Namespace, name
	switch err := r.Delete(ctx, cm); {
	case err == nil:
		log.Info(fmt.Sprintf("foo %s: being deleted; deleted configmap %s, removing the finalizer", foo.Name, name))
	case apierrors.IsNotFound(err):
		log.Info(fmt.Sprintf("foo %s: being deleted; nothing to clean up", foo.Name))
	default:
		return fmt.Errorf("configmap %s/%s: %w", foo.Namespace, name, err)
	}
	r.events.Eventf(foo, nil, corev1.EventTypeNormal, "CleanedUp", "Delete", "deleted configmap %s", name)
	return nil
}
