#!/bin/bash
. "${srcdir:-.}/test-subr.sh"
skip "not written yet"
