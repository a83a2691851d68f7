// The Foo custom resource (clux.dev/v1, namespaced) as Go types, with the DeepCopy methods that
// controller-gen would generate, written by hand to keep the program in one small directory.
package main

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var groupVersion = schema.GroupVersion{Group: "clux.dev", Version: "v1"}

// FooSpec is a name and some information to publish in a ConfigMap.
type FooSpec struct {
	Name string `json:"name"`
	Info string `json:"info"`
}

// FooCondition is a status condition (type, status, reason, message), as in the Rust Foo.
type FooCondition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// FooStatus is what the controller last did for a Foo.
type FooStatus struct {
	ObservedGeneration int64          `json:"observedGeneration,omitempty"`
	ConfigMap          string         `json:"configMap,omitempty"`
	Conditions         []FooCondition `json:"conditions"`
}

// Foo is the custom resource.
type Foo struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              FooSpec    `json:"spec"`
	Status            *FooStatus `json:"status,omitempty"`
}

// FooList is a list of Foos.
type FooList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Foo `json:"items"`
}

func (s *FooStatus) DeepCopy() *FooStatus {
	if s == nil {
		return nil
	}
	out := *s
	out.Conditions = append([]FooCondition(nil), s.Conditions...)
	return &out
}

func (f *Foo) DeepCopy() *Foo {
	if f == nil {
		return nil
	}
	out := *f
	f.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Status = f.Status.DeepCopy()
	return &out
}

func (f *Foo) DeepCopyObject() runtime.Object { return f.DeepCopy() }

func (l *FooList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	out.Items = make([]Foo, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopy()
	}
	return &out
}

func addToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(groupVersion, &Foo{}, &FooList{})
	metav1.AddToGroupVersion(s, groupVersion)
	return nil
}
