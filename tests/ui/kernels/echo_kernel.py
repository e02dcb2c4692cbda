"""A real, non-IPython Jupyter kernel for the UI tests: it echoes code back.

Built on ipykernel's base class as its docs describe for wrapper kernels; its
``implementation`` is "echo" and its language "text", so parallel-cell must refuse it.
"""

from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel


class EchoKernel(Kernel):
    implementation = "echo"
    implementation_version = "1.0"
    language = "text"
    language_version = "1.0"
    language_info = {"name": "text", "mimetype": "text/plain", "file_extension": ".txt"}
    banner = "Echo kernel (parallel-cell UI tests)"

    def do_execute(
        self, code, silent, store_history=True, user_expressions=None, allow_stdin=False
    ):
        if not silent:
            self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": code})
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
        }


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=EchoKernel)
