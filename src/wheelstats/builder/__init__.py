"""The wheel builder: build what the source serves, record the build times, publish the wheels.

    queue      what to build: the source's releases this ABI has not attempted, newest first
    sources    where sdists come from: an index URL (PEP 691/503, conditional requests) or a folder
    identity   who builds: ABI and platform tags, Python, pip, host
    limits     timeout, memory and CPU time, as the command line spells them
    build      one build: `pip wheel` of one release in a fresh folder, and why it failed
    sandbox    the build's process: limits set, then pip (python -m wheelstats.builder.sandbox)
    supervise  running the sandbox, killing its whole session at a limit
    wheels     what a built wheel is: hash, tags, Requires-Python, Requires-Dist, metadata
    staging    files written before their build is recorded, renamed into place after
    logs       gzipped build logs beside the store
    records    the store's side: recording builds with their files, reading them, skips
    runner     a run: settle what a killed run left, plan, build N at a time, record, publish
    watch      polling the source and building what appears (`--watch`)
    messages   the sentences `wheelstats build` prints

Nothing is imported here: the sandbox starts with the standard library only.
"""
