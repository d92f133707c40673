# Windows variant of ci/build_isal.sh: cibuildwheel's `before-all` for Windows AMD64.
#
# Builds the pinned ISA-L release as a static library (isa-l_static.lib, /MD like CPython) with
# ISA-L's own nmake makefile (`nmake -f Makefile.nmake static`) and nasm, installs it into a
# prefix as include\isa-l.h + include\isa-l\*.h + lib\isa-l_static.lib (the layout setup.py looks
# for with FASTZIPS3_ISAL_PREFIX), and installs a static zlib through vcpkg (Windows has no system
# zlib; setup.py finds it with FASTZIPS3_ZLIB_PREFIX).
#
# NOT RUN HERE: this machine has no Windows. It follows ISA-L's documented Windows build and must
# run from a shell where the MSVC tools are on PATH (cibuildwheel's Windows runners: use
# ilammy/msvc-dev-cmd in the workflow, as .github/workflows/wheels.yml does).
#
# Usage: powershell -ExecutionPolicy Bypass -File ci\build_isal.ps1 [-Prefix C:\isal]
param(
    [string]$Prefix = $(if ($env:FASTZIPS3_ISAL_PREFIX) { $env:FASTZIPS3_ISAL_PREFIX } else { "C:\isal" })
)
$ErrorActionPreference = "Stop"

# The pin: the same tarball and sha256 as ci/build_isal.sh (change them together).
$IsalVersion = if ($env:ISAL_VERSION) { $env:ISAL_VERSION } else { "2.30.0" }
$IsalUrl = if ($env:ISAL_URL) { $env:ISAL_URL } else {
    "https://deb.debian.org/debian/pool/main/libi/libisal/libisal_2.30.0.orig.tar.xz" }
$IsalSha256 = if ($env:ISAL_SHA256) { $env:ISAL_SHA256 } else {
    "f363f1be3d657d5676cef5253ee2233e60116e2fa9c9de86881185bf81e0e4b8" }

function Say($msg) { Write-Host "== build_isal: $msg" }

# nasm >= 2.13 (isa-l #77); Chocolatey is on GitHub's Windows runners.
if (-not (Get-Command nasm -ErrorAction SilentlyContinue)) {
    Say "installing nasm"
    choco install -y nasm
    $env:PATH = "C:\Program Files\NASM;$env:PATH"
}
$nasmVersion = [version]((nasm -v) -replace '^NASM version ([0-9.]+).*$', '$1')
if ($nasmVersion -lt [version]"2.13") { throw "nasm $nasmVersion is older than 2.13" }
Say "nasm $nasmVersion"

$work = Join-Path $env:TEMP ("fastzips3-isal-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $work | Out-Null
$tarball = Join-Path $work "isa-l.tar.xz"
if ($env:ISAL_TARBALL) { Copy-Item $env:ISAL_TARBALL $tarball }
else { Say "downloading $IsalUrl"; Invoke-WebRequest -Uri $IsalUrl -OutFile $tarball }
$actual = (Get-FileHash -Algorithm SHA256 $tarball).Hash.ToLower()
if ($actual -ne $IsalSha256) { throw "sha256 mismatch: expected $IsalSha256, got $actual" }
Say "sha256 ok ($IsalVersion)"

$src = Join-Path $work "src"
New-Item -ItemType Directory -Path $src | Out-Null
tar -xf $tarball -C $src --strip-components=1   # bsdtar ships with Windows 10+, reads .xz
if ($LASTEXITCODE -ne 0) { throw "tar failed" }

Push-Location $src
nmake -nologo -f Makefile.nmake static
if ($LASTEXITCODE -ne 0) { throw "nmake failed" }
Pop-Location

# Install: the library, the headers, and isa-l.h (which ISA-L's autotools build generates and
# Makefile.nmake does not).
$inc = Join-Path $Prefix "include"
$lib = Join-Path $Prefix "lib"
New-Item -ItemType Directory -Force -Path (Join-Path $inc "isa-l"), $lib | Out-Null
Copy-Item (Join-Path $src "isa-l_static.lib") $lib
Copy-Item (Join-Path $src "include\*.h") (Join-Path $inc "isa-l")
$v = $IsalVersion.Split(".")
$headers = Get-ChildItem (Join-Path $src "include\*.h") | Where-Object {
    $_.Name -notin @("test.h", "types.h", "unaligned.h", "multibinary.asm") } |
    ForEach-Object { "#include <isa-l/$($_.Name)>" }
@(
    "#ifndef _ISAL_H_", "#define _ISAL_H_",
    "#define ISAL_MAJOR_VERSION $($v[0])", "#define ISAL_MINOR_VERSION $($v[1])",
    "#define ISAL_PATCH_VERSION $($v[2])",
    "#define ISAL_MAKE_VERSION(maj, min, patch) ((maj) * 0x10000 + (min) * 0x100 + (patch))",
    "#define ISAL_VERSION ISAL_MAKE_VERSION(ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION)"
) + $headers + @("#endif") | Set-Content -Encoding ascii (Join-Path $inc "isa-l.h")

# The optimised kernels must be in the library (python-isal #254 shipped plain C on one platform).
$symbols = dumpbin /symbols (Join-Path $lib "isa-l_static.lib") | Out-String
if ($symbols -notmatch "decode_huffman_code_block_stateless_04") {
    throw "isa-l_static.lib lacks the optimised inflate kernel"
}
Say "done: $lib\isa-l_static.lib"

# zlib, static, for the checkpoint builder (setup.py: FASTZIPS3_ZLIB_PREFIX).
if ($env:VCPKG_INSTALLATION_ROOT) {
    & "$env:VCPKG_INSTALLATION_ROOT\vcpkg.exe" install zlib:x64-windows-static-md
    if ($LASTEXITCODE -ne 0) { throw "vcpkg install zlib failed" }
    Say "zlib: $env:VCPKG_INSTALLATION_ROOT\installed\x64-windows-static-md"
} else {
    throw "no vcpkg (VCPKG_INSTALLATION_ROOT) to install zlib with"
}
Remove-Item -Recurse -Force $work
