"""The production box (issue 21): each engine as a whole `fivetran debug` process in a cgroup of 1 GiB and half a
CPU (`benchmarks.cgroups`), the servers outside it: big pages, many parents, fetch-heavy, end to end."""
