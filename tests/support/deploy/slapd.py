"""Debian's slapd, started by a test on a loopback port with a directory of its own.

With a server certificate it also listens for ldaps:// on a second port and offers StartTLS on
the plain one, and it refuses any operation that is not protected by TLS (`security tls=1`), so
a client that skips TLS cannot log in by accident.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.hub import free_port

SUFFIX = "dc=sunaba-test,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"


@dataclass(frozen=True)
class ServerTLS:
    certificate: Path
    key: Path
    ca: Path  # what the test's own LDAP tools trust


class Slapd:
    def __init__(self, root: Path, tls: ServerTLS | None = None):
        self.root = root
        self.tls = tls
        self.port = free_port()
        self.plain_url = f"ldap://127.0.0.1:{self.port}/"
        self.tls_port = free_port() if tls else None
        # What the test's LDAP tools use: TLS whenever the server has it.
        self.url = f"ldaps://127.0.0.1:{self.tls_port}/" if tls else self.plain_url
        self.root_password = secrets.token_urlsafe(12)
        self.proc: subprocess.Popen | None = None
        (root / "data").mkdir(parents=True)
        self.conf = root / "slapd.conf"
        tls_lines = (
            f"TLSCACertificateFile {tls.ca}\n"
            f"TLSCertificateFile {tls.certificate}\n"
            f"TLSCertificateKeyFile {tls.key}\n"
            "security tls=1\n"
            if tls
            else ""
        )
        self.conf.write_text(
            "include /etc/ldap/schema/core.schema\n"
            "include /etc/ldap/schema/cosine.schema\n"
            "include /etc/ldap/schema/inetorgperson.schema\n"
            "modulepath /usr/lib/ldap\n"
            "moduleload back_mdb\n"
            "moduleload memberof\n"
            f"pidfile {root / 'slapd.pid'}\n"
            f"{tls_lines}"
            "database mdb\n"
            f'suffix "{SUFFIX}"\n'
            f'rootdn "{ROOT_DN}"\n'
            f"rootpw {self.root_password}\n"
            f"directory {root / 'data'}\n"
            "maxsize 10485760\n"
            # Active Directory keeps group membership on the person too (memberOf).
            "overlay memberof\n"
            "memberof-group-oc groupOfNames\n"
            "memberof-member-ad member\n"
            "memberof-memberof-ad memberOf\n"
            "access to attrs=userPassword by self write by anonymous auth by * none\n"
            "access to * by * read\n"
        )

    @property
    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.tls:
            env["LDAPTLS_CACERT"] = str(self.tls.ca)
        return env

    def start(self) -> None:
        listeners = " ".join(dict.fromkeys([self.plain_url, self.url]))
        # With -d the server stays in the foreground: the test owns its PID.
        self.proc = subprocess.Popen(
            ["slapd", "-f", str(self.conf), "-h", listeners, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "slapd.log", "wb"),  # noqa: SIM115 (closed with slapd)
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "slapd.log").read_text(errors="replace"))
            probe = subprocess.run(
                ["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base", "namingContexts"],
                capture_output=True,
                env=self.tool_env,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("slapd did not answer")

    def add(self, ldif: str) -> None:
        subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", ROOT_DN, "-w", self.root_password],
            input=ldif.encode(),
            check=True,
            capture_output=True,
            env=self.tool_env,
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
            return
        self.proc.kill()
        self.proc.wait()


def person(uid: str, password: str, name: str) -> str:
    return (
        f"dn: uid={uid},ou=people,{SUFFIX}\n"
        "objectClass: inetOrgPerson\n"
        f"uid: {uid}\ncn: {name}\nsn: {name}\nuserPassword: {password}\n\n"
    )


def group(cn: str, members: list[str]) -> str:
    lines = [f"dn: cn={cn},ou=groups,{SUFFIX}", "objectClass: groupOfNames", f"cn: {cn}"]
    lines += [f"member: uid={m},ou=people,{SUFFIX}" for m in members]
    return "\n".join(lines) + "\n\n"


BASE = (
    f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
    "dc: sunaba-test\no: Sunaba test city\n\n"
    f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n"
    f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n"
)
