"""A throw-away third-party datapath driver: its own package, its own entry
point. skynet's tests install it beside skynet and select it by name; the
core is not changed for it."""

import setuptools

setuptools.setup(
    name="skynet-example-driver",
    version="0.0.1",
    packages=["skynet_example"],
    entry_points={
        "skynet.datapath": [
            "example-veth = skynet_example:ExampleVethDriver",
        ],
        "oslo.config.opts": [
            "skynet_example = skynet_example:list_opts",
        ],
    },
)
