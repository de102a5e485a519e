"""skynet: a CNI plugin that gives every Kubernetes pod a real Neutron port."""

import setuptools

setuptools.setup(
    name="skynet-cni",
    version="0.1.0",
    description="Kubernetes CNI plugin backed by OpenStack Neutron ports",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=setuptools.find_packages(include=["skynet", "skynet.*",
                                               "skynet_drivers",
                                               "skynet_drivers.*"]),
    install_requires=[line.strip() for line in open("requirements.txt")
                      if line.strip() and not line.startswith("#")],
    entry_points={
        "console_scripts": [
            "skynet = skynet.cmd.cni:main",
        ],
        # built-in drivers reach the core only through these entry points,
        # exactly as a third party's package would
        "skynet.datapath": [
            "linuxbridge = skynet_drivers.datapath.linuxbridge:LinuxBridgeDriver",
            "macvlan = skynet_drivers.datapath.macvlan:MacvlanDriver",
            "openvswitch = skynet_drivers.datapath.openvswitch:OpenVSwitchDriver",
        ],
        "skynet.ipam": [
            "neutron = skynet_drivers.ipam.neutron:NeutronIpamDriver",
        ],
        "skynet.security": [
            "neutron = skynet_drivers.security.neutron:NeutronSecurityDriver",
        ],
        "oslo.config.opts": [
            "skynet = skynet.conf.opts:list_opts",
            "skynet.datapath = skynet_drivers.opts:list_opts",
        ],
    },
)
