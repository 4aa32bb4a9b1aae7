from .jobs import delayed_jobs


def background_status(request):
    """Tells every page when background work (calculations, pushes) is waiting for the broker."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"background_delayed": delayed_jobs()}
