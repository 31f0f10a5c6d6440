/* ProcessPrng, the one export of Windows 10's bcryptprimitives.dll that
 * Go's runtime needs, over BCryptGenRandom. Wine 8.0 (Debian 12) lacks the
 * DLL; TestWindowsUnderWine puts this one into its Wine prefix's system32.
 * Windows itself has the real one. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T n)
{
	while (n > 0) {
		ULONG chunk = n > 0x40000000 ? 0x40000000 : (ULONG)n;
		if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += chunk;
		n -= chunk;
	}
	return TRUE;
}
